import SwitchyardProviders

/// The supervised engine as providers reach it: the one place the engine and the providers meet.
extension LocalEngine: LocalEngineAccess {
    public var readyAddress: EngineAddress? {
        readyEndpoint.map { EngineAddress(baseURL: $0.baseURL, authorization: $0.authorization) }
    }

    public var phaseName: String { status.phase.rawValue }
}
