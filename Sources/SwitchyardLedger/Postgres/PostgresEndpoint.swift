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

    var tls: PostgresClient.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch self {
        case .disable:
            return .disable
        case .allow, .prefer:
            configuration.certificateVerification = .none
            return .prefer(configuration)
        case .require:
            configuration.certificateVerification = .none
            return .require(configuration)
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
            return .require(configuration)
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
            return .require(configuration)
        }
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

    func configuration(maxConnections: Int) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password,
                                                         database: database, tls: sslMode.tls)
        configuration.options.maximumConnections = maxConnections
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}
