import SwitchyardLedger

extension Nanodollars {
    /// "$0.00015", "$12.50": exact (nano-dollars have nine decimals), without trailing zeros past
    /// the cents, so a table of small per-request costs stays readable and nothing is rounded away.
    var dollars: String {
        let exact = description  // "$12.500000000"
        guard let dot = exact.firstIndex(of: ".") else { return exact }
        var text = Substring(exact)
        while text.last == "0", text.distance(from: dot, to: text.endIndex) > 3 { text = text.dropLast() }
        return String(text)
    }
}
