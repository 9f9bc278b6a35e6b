/// Rows in aligned columns for a terminal: text left-aligned, numbers right-aligned, two spaces
/// between columns. Widths count characters (the CLI's values are ASCII but for names).
struct TextTable {
    var header: [String]
    /// Columns whose cells are right-aligned (numbers, money).
    var numeric: Set<Int> = []
    var rows: [[String]] = []

    init(_ header: [String], numeric: Set<Int> = []) {
        self.header = header
        self.numeric = numeric
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        return all.map { row in
            header.indices.map { column -> String in
                let cell = row.indices.contains(column) ? row[column] : ""
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return numeric.contains(column) ? pad + cell : (column == header.count - 1 ? cell : cell + pad)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
