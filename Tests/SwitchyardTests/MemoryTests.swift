import Testing
import SwitchyardHTTP
import SwitchyardPolicy
import SwitchyardWire
@testable import SwitchyardServer

#if canImport(Glibc)
import Glibc
#endif

/// The gateway's memory under maximum-size bodies: the real `switchyard` binary, a loopback
/// upstream that holds every request until all are in flight, and the kernel's own count of the
/// process's resident memory (`VmHWM`, `VmRSS` in /proc/PID/status). Figures, not timings: each
/// phase is a bounded loop, and what is asserted is a ratio of bytes to bytes.
@Suite("Memory under large bodies", .serialized, .timeLimit(.minutes(10)))
struct MemoryTests {
    /// Default limits: 4 MiB bodies, a 256 MiB budget of bodies in flight.
    static let defaults = ServerSettings()
    /// A body just under `max_body_bytes`, so that 64 of them fit the default budget.
    static let bodyBytes = defaults.maxBodyBytes - (64 << 10)

    /// A chat request of `bytes` bytes whose one message is plain prose (lines of words, no digits,
    /// nothing the private-data scan stops at): the scan reads all of it.
    static func body(bytes: Int) -> [UInt8] {
        let head = Array(#"{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":""#.utf8)
        let tail = Array(#""}]}"#.utf8)
        let line = Array("The quick brown fox jumps over the lazy dog by the river, then rests in the shade of an old oak.\\n".utf8)
        var body = head
        body.reserveCapacity(bytes)
        while body.count + line.count + tail.count <= bytes { body += line }
        body += Array(repeating: UInt8(ascii: "."), count: bytes - body.count - tail.count)
        return body + tail
    }

    /// One cloud target, the ledger on, the default limits. Not the private-data scan: its text
    /// lives only while a decision is made, synchronously, so at most one per core exists at
    /// once whatever the load (and the debug build these tests run scans a megabyte a second).
    /// Nor a body timeout a debug build parsing 64 bodies on 2 cores could run into.
    static func policy(_ provider: ScriptedProvider) -> String {
        """
        version: 1
        server: {body_timeout: 10m}
        models:
          cloud: {kind: openai, base_url: "\(provider.baseURL)", model: m, api_key_env: SWITCHYARD_TEST_CLOUD_KEY}
        rules:
          - {name: all, serve: cloud}
        """
    }

    /// The process's resident memory now and at its peak, and the anonymous part of it now (the
    /// heap: what requests allocate), in bytes. The rest is mostly the binary's own pages, which
    /// grow as code runs for the first time (a refusal path, say) and are not request memory.
    struct Resident: CustomStringConvertible {
        var now: Int
        var peak: Int
        var anonymous: Int

        init(pid: pid_t) throws {
            guard let status = TextFile.read("/proc/\(pid)/status") else { throw FixtureError("no /proc/\(pid)/status") }
            func kilobytes(_ field: String) -> Int {
                let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
                return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
            }
            now = kilobytes("VmRSS")
            peak = kilobytes("VmHWM")
            anonymous = kilobytes("RssAnon")
        }

        var description: String { "rss \(now >> 20) MiB (anonymous \(anonymous >> 20) MiB), peak \(peak >> 20) MiB" }
    }

    /// `count` maximum-size chats at once, each on a connection of its own, closed when all are
    /// answered (what open connections hold is not what bodies leave behind); the answers.
    static func flood(_ count: Int, body: [UInt8], baseURL: String) async -> [HTTPResponse?] {
        let client = HTTPClient()
        let timeouts = HTTPTimeouts(connect: .seconds(5), firstByte: .seconds(240), stall: .seconds(240), total: .seconds(240))
        let answers = await withTaskGroup(of: HTTPResponse?.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try? await client.send(HTTPRequest(method: .post, url: baseURL + "/v1/chat/completions",
                                                       headers: [("Content-Type", "application/json")], body: body, timeouts: timeouts))
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        await client.shutdown()
        return answers
    }

    /// Waits (bounded) for the anonymous resident memory to fall to `target`; returns the last reading.
    static func settle(pid: pid_t, to target: Int, within limit: Duration = .seconds(10)) async throws -> Resident {
        let deadline = ContinuousClock.now + limit
        var resident = try Resident(pid: pid)
        while resident.anonymous > target, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            resident = try Resident(pid: pid)
        }
        return resident
    }

    /// Runs a gateway against a `drain` upstream holding requests until `holdUntil` are in flight,
    /// warms it up with small requests, and hands `body` its pid, baseline and base URL.
    static func withGateway(holdUntil: Int,
                            _ body: (_ pid: pid_t, _ baseline: Resident, _ baseURL: String, _ provider: ScriptedProvider) async throws -> Void) async throws {
        try await ScriptedProvider.with(.drain(holdUntil: holdUntil, atMost: .seconds(180))) { provider in
            try await TestProcesses.with { processes in
                let directory = try Fixtures.temporaryDirectory()
                try Fixtures.writeFile(directory + "/policy.yaml", Self.policy(provider))
                let client = HTTPClient()
                defer { Task { await client.shutdown() } }
                let gateway = try await ServeProcess.start(policy: directory + "/policy.yaml", stateDirectory: directory,
                                                           environment: ["SWITCHYARD_TEST_CLOUD_KEY": "scripted"],
                                                           log: directory + "/gateway.log", processes: processes, client: client)
                let small = Self.body(bytes: 4096)
                for _ in 0..<4 { _ = await Self.flood(8, body: small, baseURL: gateway.baseURL) }
                let baseline = try Resident(pid: gateway.child.pid)
                try await body(gateway.child.pid, baseline, gateway.baseURL, provider)
                #expect(await gateway.stop() == .exited(0))
            }
        }
    }

    @Test("64 maximum-size bodies at once: peak resident memory within 2.5× the bytes in flight, and back near the baseline after")
    func sixtyFourBodies() async throws {
        let body = Self.body(bytes: Self.bodyBytes)
        try await Self.withGateway(holdUntil: 64) { pid, baseline, baseURL, provider in
            let answers = await Self.flood(64, body: body, baseURL: baseURL)
            #expect(answers.allSatisfy { $0?.status == 200 }, "\(answers.map { $0?.status ?? 0 })")
            #expect(provider.peakInFlight == 64, "the upstream held every request at once")
            let inFlight = 64 * body.count
            let peak = try Resident(pid: pid).peak
            let after = try await Self.settle(pid: pid, to: baseline.anonymous + inFlight / 8)
            print("memory: 64 bodies of \(body.count) B (\(inFlight >> 20) MiB in flight): baseline \(baseline), "
                  + "peak \(peak >> 20) MiB (+\(Double(peak - baseline.now) / Double(inFlight)) × in flight), after: \(after)")
            #expect(peak - baseline.now <= inFlight * 5 / 2, "peak \(peak >> 20) MiB over a baseline of \(baseline)")
            #expect(after.anonymous <= baseline.anonymous + inFlight / 8, "after the requests ended: \(after); baseline \(baseline)")
        }
    }

    @Test("128 maximum-size bodies at once: past `max_inflight_body_bytes` they get 503 with Retry-After, and memory stays bounded by the budget")
    func beyondTheBudget() async throws {
        let body = Self.body(bytes: Self.bodyBytes)
        try await Self.withGateway(holdUntil: 64) { pid, baseline, baseURL, _ in
            let answers = await Self.flood(128, body: body, baseURL: baseURL)
            let refused = answers.compactMap { $0 }.filter { $0.status == 503 }
            #expect(answers.allSatisfy { $0?.status == 200 || $0?.status == 503 }, "\(answers.map { $0?.status ?? 0 })")
            #expect(answers.filter { $0?.status == 200 }.count >= 64, "the budget holds 64 such bodies")
            #expect(!refused.isEmpty, "128 bodies of \(body.count) B do not fit a budget of \(Self.defaults.maxInflightBodyBytes) B")
            for answer in refused {
                #expect(answer.header("retry-after") == "1")
                #expect(answer.json["error"]?["code"]?.stringValue == "gateway_overloaded", "\(answer.bodyText)")
            }
            let budget = Self.defaults.maxInflightBodyBytes
            let peak = try Resident(pid: pid).peak
            let after = try await Self.settle(pid: pid, to: baseline.anonymous + budget / 8)
            print("memory: 128 bodies of \(body.count) B, \(refused.count) refused: baseline \(baseline), "
                  + "peak \(peak >> 20) MiB (+\(Double(peak - baseline.now) / Double(budget)) × the budget), after: \(after)")
            #expect(peak - baseline.now <= budget * 5 / 2, "peak \(peak >> 20) MiB over a baseline of \(baseline)")
            #expect(after.anonymous <= baseline.anonymous + budget / 8, "after the requests ended: \(after); baseline \(baseline)")
        }
    }
}
