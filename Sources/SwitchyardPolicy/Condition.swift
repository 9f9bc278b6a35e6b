import SwitchyardSignals

/// A rule's `when:` condition, parsed and type-checked at policy load and then evaluated per
/// request without allocation beyond its trace.
///
/// Grammar (lowest precedence first):
///   or:      and ("or" and)*
///   and:     not ("and" not)*
///   not:     "not" not | compare
///   compare: sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum | "not"? "in" list)?
///   sum:     product (("+" | "-") product)*
///   product: unary (("*" | "/") unary)*
///   unary:   "-" unary | number | "string" | true | false | signal | MODEL.context | "(" or ")" | list
///   list:    "[" (word ("," word)*)? "]"     words are strings, quoted or not
public struct Condition: Sendable, Equatable, CustomStringConvertible {
    public let source: String
    let root: Expr
    /// The slots (in the policy's `SignalTable`) of the signals this condition reads: only these
    /// are computed for it.
    public let signals: Set<Int>

    public var description: String { source }

    /// True for a condition that holds for every request (so later rules are unreachable).
    public var isAlwaysTrue: Bool { root == .constant(.bool(true)) }

    public static let always = Condition(source: "true", root: .constant(.bool(true)), signals: [])

    /// The deepest a condition may nest (parentheses, `not`s, chained operators): far more than
    /// a readable condition needs, and shallow enough that parsing and evaluating it, which
    /// recurse, stay well within any thread's stack.
    public static let maxDepth = 64

    /// The result and, when it holds, the facts that made it hold (`prompt_tokens=7100>6553.6`).
    public func evaluate(_ values: SignalValues) -> (matched: Bool, facts: [String]) {
        var facts: [String] = []
        let value = root.evaluate(values, facts: &facts)
        guard case .bool(true)? = value else { return (false, []) }
        return (true, facts)
    }
}

extension Condition {
    /// Whether the condition can only hold when the set signal at `slot` holds one of `values`:
    /// some conjunct at its top is `SIGNAL in [...]` naming such a value, or a bare `SIGNAL`.
    public func requires(_ slot: Int, toHoldOneOf values: Set<String>) -> Bool {
        func conjuncts(_ e: Expr) -> [Expr] {
            if case .and(let a, let b) = e { return conjuncts(a) + conjuncts(b) }
            return [e]
        }
        return conjuncts(root).contains { e in
            switch e {
            case .member(.signal(slot, _), let list, negated: false): !list.isDisjoint(with: values)
            case .nonEmpty(.signal(slot, _)): true
            default: false
            }
        }
    }
}

public struct ConditionError: Error, Sendable, Equatable {
    public var message: String
    /// Offset in the condition's text, for the diagnostic's column.
    public var offset: Int
}

indirect enum Expr: Sendable, Equatable {
    enum Comparison: String, Sendable { case lt = "<", le = "<=", gt = ">", ge = ">=", eq = "==", ne = "!=" }
    enum Arithmetic: String, Sendable { case add = "+", sub = "-", mul = "*", div = "/" }

    case constant(ConditionValue)
    /// A signal's slot in the policy's table, and its name for facts.
    case signal(Int, String)
    case not(Expr)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case compare(Comparison, Expr, Expr)
    case arithmetic(Arithmetic, Expr, Expr)
    case member(Expr, Set<String>, negated: Bool)
    /// A set signal used as a truth value: non-empty.
    case nonEmpty(Expr)

    func evaluate(_ values: SignalValues, facts: inout [String]) -> ConditionValue? {
        switch self {
        case .constant(let v):
            return v
        case .signal(let slot, _):
            let value = values[slot]
            // A true flag is a fact like a comparison that held (`tools`, `stream`).
            if case .bool(true)? = value { facts.append(label) }
            return value
        case .not(let e):
            var ignored: [String] = []
            guard case .bool(let b)? = e.evaluate(values, facts: &ignored) else { return nil }
            return .bool(!b)
        case .and(let a, let b):
            guard case .bool(true)? = a.evaluate(values, facts: &facts) else { return .bool(false) }
            guard case .bool(let rb)? = b.evaluate(values, facts: &facts) else { return nil }
            return .bool(rb)
        case .or(let a, let b):
            if case .bool(true)? = a.evaluate(values, facts: &facts) { return .bool(true) }
            guard case .bool(let rb)? = b.evaluate(values, facts: &facts) else { return nil }
            return .bool(rb)
        case .compare(let op, let a, let b):
            guard let l = a.evaluate(values, facts: &facts), let r = b.evaluate(values, facts: &facts) else { return nil }
            let result: Bool
            switch (l, r) {
            case (.number(let x), .number(let y)):
                switch op {
                case .lt: result = x < y
                case .le: result = x <= y
                case .gt: result = x > y
                case .ge: result = x >= y
                case .eq: result = x == y
                case .ne: result = x != y
                }
            default:
                result = op == .eq ? l == r : l != r
            }
            if result { facts.append("\(a.label)=\(l)\(op.rawValue)\(r)") }
            return .bool(result)
        case .arithmetic(let op, let a, let b):
            guard case .number(let x)? = a.evaluate(values, facts: &facts), case .number(let y)? = b.evaluate(values, facts: &facts) else { return nil }
            switch op {
            case .add: return .number(x + y)
            case .sub: return .number(x - y)
            case .mul: return .number(x * y)
            case .div: return y == 0 ? nil : .number(x / y)
            }
        case .member(let e, let list, let negated):
            guard let v = e.evaluate(values, facts: &facts) else { return nil }
            let found: Bool
            switch v {
            case .string(let s): found = list.contains(s)
            case .set(let s): found = !s.isDisjoint(with: list)
            default: return nil
            }
            let result = found != negated
            if result { facts.append("\(e.label)=\(v)\(negated ? " not in " : " in ")[\(list.sorted().joined(separator: ","))]") }
            return .bool(result)
        case .nonEmpty(let e):
            guard case .set(let s)? = e.evaluate(values, facts: &facts) else { return nil }
            if !s.isEmpty { facts.append("\(e.label)=\(ConditionValue.set(s))") }
            return .bool(!s.isEmpty)
        }
    }

    /// How a sub-expression is named in a fact.
    var label: String {
        switch self {
        case .signal(_, let name): name
        case .constant(let v): v.description
        default: "expr"
        }
    }

    var signals: Set<Int> {
        switch self {
        case .constant: []
        case .signal(let slot, _): [slot]
        case .not(let e), .nonEmpty(let e), .member(let e, _, _): e.signals
        case .and(let a, let b), .or(let a, let b), .compare(_, let a, let b), .arithmetic(_, let a, let b): a.signals.union(b.signals)
        }
    }
}
