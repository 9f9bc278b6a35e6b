/// A value a signal takes, and what a condition compares.
public enum ConditionValue: Sendable, Equatable, CustomStringConvertible {
    case number(Double)
    case string(String)
    case bool(Bool)
    case set(Set<String>)

    public var description: String {
        switch self {
        case .number(let n): n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .string(let s): s
        case .bool(let b): String(b)
        case .set(let s): "[" + s.sorted().joined(separator: ",") + "]"
        }
    }
}

/// The PII classes the detector reports.
public enum PIIClass: String, Sendable, CaseIterable, Comparable {
    case email, phone, creditCard = "credit_card", iban, nationalID = "national_id", ipAddress = "ip_address", secret

    public static func < (a: PIIClass, b: PIIClass) -> Bool { a.rawValue < b.rawValue }
}
