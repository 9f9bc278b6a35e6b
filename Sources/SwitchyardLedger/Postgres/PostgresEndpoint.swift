import Logging
import PostgresNIO
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// TLS to PostgreSQL, with libpq's `sslmode` names and meanings, so a URL that works with psql
/// means the same here. `require` encrypts without checking the server's certificate (as libpq
/// does); `verify-ca` checks it against the system's trust roots; `verify-full` also checks the
/// host name.
public enum PostgresSSLMode: String, Sendable, CaseIterable {
    case disable, allow, prefer, require
    case verifyCA = "verify-ca"
    case verifyFull = "verify-full"

    /// Whether TLS is required, and how the server's certificate is checked.
    private var tlsConfiguration: (required: Bool, TLSConfiguration)? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch self {
        case .disable:
            return nil
        case .allow, .prefer:
            configuration.certificateVerification = .none
            return (false, configuration)
        case .require:
            configuration.certificateVerification = .none
            return (true, configuration)
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
            return (true, configuration)
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
            return (true, configuration)
        }
    }

    var poolTLS: PostgresClient.Configuration.TLS {
        guard let (required, configuration) = tlsConfiguration else { return .disable }
        return required ? .require(configuration) : .prefer(configuration)
    }

    func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        guard let (required, configuration) = tlsConfiguration else { return .disable }
        let context = try NIOSSLContext(configuration: configuration)
        return required ? .require(context) : .prefer(context)
    }
}

/// Where a PostgreSQL ledger lives, read from a libpq-style URL:
/// `postgres://USER[:PASSWORD]@HOST[:PORT][/DATABASE][?sslmode=MODE]` (`postgresql://` too;
/// user and password percent-decoded; the database defaults to the user's name, the port to 5432,
/// sslmode to `prefer`). The URL parsing is Foundation's; only libpq's conventions are ours.
struct PostgresEndpoint: Sendable, Equatable {
    var host: String
    var port: Int
    var username: String
    var password: String?
    var database: String
    var sslMode: PostgresSSLMode

    init(host: String, port: Int, username: String, password: String?, database: String, sslMode: PostgresSSLMode) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.sslMode = sslMode
    }

    init(url: String) throws {
        guard let components = URLComponents(string: url) else { throw LedgerError.invalidURL("not a URL") }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw LedgerError.invalidURL("the scheme must be postgres:// or postgresql://")
        }
        guard let host = components.host, !host.isEmpty else { throw LedgerError.invalidURL("no host") }
        guard let user = components.user, !user.isEmpty else { throw LedgerError.invalidURL("no user") }
        var sslMode = PostgresSSLMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(PostgresSSLMode.init(rawValue:)) else {
                    throw LedgerError.invalidURL("unknown sslmode \(item.value ?? "")")
                }
                sslMode = mode
            default:
                throw LedgerError.invalidURL("unsupported parameter \(item.name)")
            }
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.init(host: host, port: components.port ?? 5432, username: user, password: components.password,
                  database: path.isEmpty ? user : path, sslMode: sslMode)
    }

    func configuration(maxConnections: Int, connectTimeout: Duration) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password,
                                                         database: database, tls: sslMode.poolTLS)
        configuration.options.maximumConnections = maxConnections
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }

    /// Connects once, outside any pool, and hangs up: a wrong host, port, password or database
    /// name fails here at once with the server's reason (a pool would retry for a minute and
    /// then report only that it gave up).
    func probe(connectTimeout: Duration, logger: Logger) async throws {
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: username, password: password,
                                                             database: database, tls: try sslMode.connectionTLS())
        configuration.options.connectTimeout = .milliseconds(connectTimeout.components.seconds * 1000
                                                             + connectTimeout.components.attoseconds / 1_000_000_000_000_000)
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try await connection.close()
        } catch let error as PSQLError {
            throw error.ledgerError
        }
    }
}
