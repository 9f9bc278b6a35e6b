import SwitchyardSignals

extension Condition {
    /// Parses and checks a condition. `models` resolves `NAME.context` to that model's context
    /// window; `signals` resolves signal names to their slots (adding each `header.NAME` met).
    public static func parse(_ source: String, models: [ModelTarget], signals: inout SignalTable) throws(ConditionError) -> Condition {
        var parser = ConditionParser(tokens: try ConditionLexer.tokens(source), models: models, table: signals)
        defer { signals = parser.table }
        let typed = try parser.parseOr()
        guard parser.atEnd else { throw parser.error("unexpected '\(parser.peek.text)'") }
        guard typed.kind == .bool else {
            throw ConditionError(message: "a condition must be true or false; this is a \(typed.kind)", offset: 0)
        }
        return Condition(source: source, root: typed.expr, signals: typed.expr.signals)
    }
}

struct Token: Equatable {
    enum Kind: Equatable { case number, string, word, symbol, end }
    var kind: Kind
    var text: String
    var offset: Int
}

enum ConditionLexer {
    static func tokens(_ source: String) throws(ConditionError) -> [Token] {
        let chars = Array(source)
        var tokens: [Token] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace { i += 1; continue }
            let start = i
            if c.isNumber || (c == "." && i + 1 < chars.count && chars[i + 1].isNumber) {
                while i < chars.count, chars[i].isNumber || chars[i] == "." { i += 1 }
                tokens.append(Token(kind: .number, text: String(chars[start..<i]), offset: start))
            } else if c == "\"" || c == "'" {
                i += 1
                while i < chars.count, chars[i] != c { i += 1 }
                guard i < chars.count else { throw ConditionError(message: "unterminated string", offset: start) }
                tokens.append(Token(kind: .string, text: String(chars[(start + 1)..<i]), offset: start))
                i += 1
            } else if c.isLetter || c == "_" {
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "." || chars[i] == "-" { i += 1 }
                tokens.append(Token(kind: .word, text: String(chars[start..<i]), offset: start))
            } else {
                let two = i + 1 < chars.count ? String(chars[i...(i + 1)]) : ""
                if ["<=", ">=", "==", "!=", "&&", "||"].contains(two) {
                    tokens.append(Token(kind: .symbol, text: two, offset: start))
                    i += 2
                } else if "<>+-*/()[],!".contains(c) {
                    tokens.append(Token(kind: .symbol, text: String(c), offset: start))
                    i += 1
                } else {
                    throw ConditionError(message: "unexpected character '\(c)'", offset: start)
                }
            }
        }
        tokens.append(Token(kind: .end, text: "end of condition", offset: chars.count))
        return tokens
    }
}

private struct Typed {
    enum Kind: String, CustomStringConvertible {
        case number, string, bool, set
        var description: String { rawValue }
    }

    var expr: Expr
    var kind: Kind
    /// Levels of the expression tree below and including this node.
    var depth = 1
}

private struct ConditionParser {
    let tokens: [Token]
    let models: [ModelTarget]
    var table: SignalTable
    var index = 0
    /// Parentheses, `not`s and minus signs currently open: bounded, so a hostile condition
    /// cannot exhaust the stack of the recursive descent.
    var nesting = 0

    init(tokens: [Token], models: [ModelTarget], table: SignalTable) {
        self.tokens = tokens
        self.models = models
        self.table = table
    }

    var peek: Token { tokens[index] }
    var atEnd: Bool { peek.kind == .end }

    func error(_ message: String, at token: Token? = nil) -> ConditionError {
        ConditionError(message: message, offset: (token ?? peek).offset)
    }

    mutating func advance() -> Token {
        defer { index += 1 }
        return tokens[index]
    }

    mutating func accept(_ texts: String...) -> Token? {
        guard peek.kind == .word || peek.kind == .symbol, texts.contains(peek.text) else { return nil }
        return advance()
    }

    /// Enters one more level of recursion, refusing to go deeper than `Condition.maxDepth`.
    mutating func descend() throws(ConditionError) {
        nesting += 1
        guard nesting <= Condition.maxDepth else { throw tooDeep(at: peek) }
    }

    func tooDeep(at token: Token) -> ConditionError {
        error("the condition nests more than \(Condition.maxDepth) levels deep; split it into rules or use `in [...]`", at: token)
    }

    /// A new tree node over `children`, refused when the tree would get deeper than
    /// `Condition.maxDepth` (evaluation, comparison and release of a condition recurse over it).
    func node(_ expr: Expr, _ kind: Typed.Kind, _ children: Typed..., at token: Token) throws(ConditionError) -> Typed {
        let depth = (children.map(\.depth).max() ?? 0) + 1
        guard depth <= Condition.maxDepth else { throw tooDeep(at: token) }
        return Typed(expr: expr, kind: kind, depth: depth)
    }

    mutating func parseOr() throws(ConditionError) -> Typed {
        try descend()
        defer { nesting -= 1 }
        var left = try parseAnd()
        while let op = accept("or", "||") {
            let right = try parseAnd()
            try requireBool(left, op, right)
            left = try node(.or(left.expr, right.expr), .bool, left, right, at: op)
        }
        return left
    }

    mutating func parseAnd() throws(ConditionError) -> Typed {
        var left = try parseNot()
        while let op = accept("and", "&&") {
            let right = try parseNot()
            try requireBool(left, op, right)
            left = try node(.and(left.expr, right.expr), .bool, left, right, at: op)
        }
        return left
    }

    mutating func parseNot() throws(ConditionError) -> Typed {
        if let op = accept("not", "!") {
            try descend()
            defer { nesting -= 1 }
            let operand = try parseNot()
            guard operand.kind == .bool else { throw error("'not' needs true or false, not a \(operand.kind)", at: op) }
            return try node(.not(operand.expr), .bool, operand, at: op)
        }
        return try parseCompare()
    }

    func requireBool(_ left: Typed, _ op: Token, _ right: Typed) throws(ConditionError) {
        guard left.kind == .bool, right.kind == .bool else {
            throw error("'\(op.text)' joins conditions, not a \(left.kind == .bool ? right.kind : left.kind)", at: op)
        }
    }

    mutating func parseCompare() throws(ConditionError) -> Typed {
        let left = try parseSum()
        if peek.kind == .word, peek.text == "not", tokens[index + 1].text == "in" {
            index += 2
            return try membership(left, negated: true)
        }
        if accept("in") != nil { return try membership(left, negated: false) }
        guard let op = accept("<", "<=", ">", ">=", "==", "!=") else {
            // A set alone means "any found" (`pii` is true when any PII was found).
            return left.kind == .set ? try node(.nonEmpty(left.expr), .bool, left, at: peek) : left
        }
        let right = try parseSum()
        let comparison = Expr.Comparison(rawValue: op.text)!
        switch comparison {
        case .lt, .le, .gt, .ge:
            guard left.kind == .number, right.kind == .number else {
                throw error("'\(op.text)' compares numbers; got \(left.kind) and \(right.kind)", at: op)
            }
        case .eq, .ne:
            guard left.kind == right.kind, left.kind != .set else {
                throw error("'\(op.text)' compares values of one type; got \(left.kind) and \(right.kind)", at: op)
            }
        }
        try checkRange(left.expr, against: right.expr, at: op)
        try checkRange(right.expr, against: left.expr, at: op)
        return try node(.compare(comparison, left.expr, right.expr), .bool, left, right, at: op)
    }

    /// A threshold outside the values a signal can take makes a condition that never (or always) holds.
    func checkRange(_ side: Expr, against other: Expr, at op: Token) throws(ConditionError) {
        guard case .signal(let slot, let name) = side, let range = table.definition(at: slot).range,
              let constant = other.constantNumber else { return }
        guard range.contains(constant) else {
            let bounds = range.upperBound == .greatestFiniteMagnitude ? "at least \(range.lowerBound.clean)" : "\(range.lowerBound.clean) to \(range.upperBound.clean)"
            throw error("threshold \(constant.clean) is outside the range of \(name) (\(bounds))", at: op)
        }
    }

    mutating func membership(_ left: Typed, negated: Bool) throws(ConditionError) -> Typed {
        let open = peek
        guard accept("[") != nil else { throw error("'in' needs a list, like [a, b]") }
        var items: [(String, Token)] = []
        if accept("]") == nil {
            repeat {
                let item = advance()
                guard item.kind == .word || item.kind == .string || item.kind == .number else {
                    throw error("expected a list item, found '\(item.text)'", at: item)
                }
                items.append((item.text, item))
            } while accept(",") != nil
            guard accept("]") != nil else { throw error("expected ',' or ']'") }
        }
        guard left.kind == .string || left.kind == .set else {
            throw error("'in' tests a string or a set against a list; got a \(left.kind)", at: open)
        }
        if case .signal(let slot, let name) = left.expr, let members = table.definition(at: slot).members {
            for (item, token) in items where !members.contains(item) {
                let hint = nearest(item, in: members).map { " (did you mean '\($0)'?)" } ?? ""
                throw error("unknown value '\(item)' of \(name)\(hint); its values: \(members.joined(separator: ", "))", at: token)
            }
        }
        return try node(.member(left.expr, Set(items.map(\.0)), negated: negated), .bool, left, at: open)
    }

    mutating func parseSum() throws(ConditionError) -> Typed {
        var left = try parseProduct()
        while let op = accept("+", "-") {
            let right = try parseProduct()
            left = try arithmetic(op, left, right)
        }
        return left
    }

    mutating func parseProduct() throws(ConditionError) -> Typed {
        var left = try parseUnary()
        while let op = accept("*", "/") {
            let right = try parseUnary()
            left = try arithmetic(op, left, right)
        }
        return left
    }

    func arithmetic(_ op: Token, _ left: Typed, _ right: Typed) throws(ConditionError) -> Typed {
        guard left.kind == .number, right.kind == .number else {
            throw error("'\(op.text)' works on numbers; got \(left.kind) and \(right.kind)", at: op)
        }
        let expr = Expr.arithmetic(Expr.Arithmetic(rawValue: op.text)!, left.expr, right.expr)
        // Fold constants at load, so `0.8 * local.context` costs nothing per request.
        if let value = expr.constantNumber {
            guard value.isFinite else { throw error("'\(op.text)' of these constants is too large a number", at: op) }
            return Typed(expr: .constant(.number(value)), kind: .number)
        }
        return try node(expr, .number, left, right, at: op)
    }

    mutating func parseUnary() throws(ConditionError) -> Typed {
        if let op = accept("-") {
            try descend()
            defer { nesting -= 1 }
            let operand = try parseUnary()
            return try arithmetic(op, Typed(expr: .constant(.number(0)), kind: .number), operand)
        }
        let token = advance()
        switch token.kind {
        case .number:
            guard let value = Double(token.text) else { throw error("invalid number '\(token.text)'", at: token) }
            guard value.isFinite else { throw error("the number '\(token.text)' is too large", at: token) }
            return Typed(expr: .constant(.number(value)), kind: .number)
        case .string:
            return Typed(expr: .constant(.string(token.text)), kind: .string)
        case .word:
            return try word(token)
        case .symbol where token.text == "(":
            let inner = try parseOr()
            guard accept(")") != nil else { throw error("expected ')'") }
            return inner
        case .symbol where token.text == "[":
            throw error("a list goes after 'in'", at: token)
        default:
            throw error("expected a value, found '\(token.text)'", at: token)
        }
    }

    mutating func word(_ token: Token) throws(ConditionError) -> Typed {
        let name = token.text
        switch name {
        case "true": return Typed(expr: .constant(.bool(true)), kind: .bool)
        case "false": return Typed(expr: .constant(.bool(false)), kind: .bool)
        // `confidence < auto`: the threshold learned within the cascade's `risk` (the signal
        // `confidence.threshold`, set after generation).
        case "auto":
            if let slot = table.resolve("confidence.threshold") { return Typed(expr: .signal(slot, "auto"), kind: .number) }
        default: break
        }
        if let slot = table.resolve(name) {
            return Typed(expr: .signal(slot, table.entries[slot].name), kind: Self.kind(table.definition(at: slot).kind))
        }
        if name.hasSuffix(".context") {
            let model = String(name.dropLast(8))
            guard let target = models.first(where: { $0.name == model }) else {
                let hint = nearest(model, in: models.map(\.name)).map { " (did you mean '\($0).context'?)" } ?? ""
                throw error("unknown model '\(model)'\(hint)", at: token)
            }
            return Typed(expr: .constant(.number(Double(target.contextWindow))), kind: .number)
        }
        let candidates = table.registry.names(localTargets: table.localTargets) + models.map { "\($0.name).context" }
        let hint = nearest(name, in: candidates).map { " (did you mean '\($0)'?)" } ?? "; strings need quotes, like \"\(name)\""
        throw error("unknown signal '\(name)'\(hint)", at: token)
    }

    static func kind(_ kind: SignalDefinition.Kind) -> Typed.Kind {
        switch kind {
        case .number: .number
        case .string: .string
        case .bool: .bool
        case .set: .set
        }
    }
}

extension Expr {
    var constantNumber: Double? {
        switch self {
        case .constant(.number(let n)): return n
        case .arithmetic(let op, let a, let b):
            guard let x = a.constantNumber, let y = b.constantNumber else { return nil }
            switch op {
            case .add: return x + y
            case .sub: return x - y
            case .mul: return x * y
            case .div: return y == 0 ? nil : x / y
            }
        default: return nil
        }
    }
}
