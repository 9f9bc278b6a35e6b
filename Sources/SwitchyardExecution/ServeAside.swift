import SwitchyardDecision
import SwitchyardProviders
import SwitchyardWire

extension Executor {
    /// Serves a request on `targets` outside any client's path: a shadow of a request a cascade
    /// kept on the box, or a judge's verdict. Candidates in order, with their admission, retries
    /// and breakers as for any request, and every attempt through `tracker`, whose budget is the
    /// learning loop's, never a caller's.
    public func serveAside(_ request: GatewayRequest, on targets: [String], context: ProviderContext,
                           tracker: AttemptTracker) async throws(GatewayError) -> Served<Completion> {
        try await serve(targets, localLastResort: false, tracker, context) { (provider, context) throws(ProviderError) in
            try await provider.complete(request, context: context)
        }
    }
}
