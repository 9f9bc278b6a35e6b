/// International bank account numbers.
extension PIIScan {
    /// An IBAN at `start`, in any case (`gb82 west …`, `De89…`), unseparated or in groups of four
    /// split by single spaces or single dashes (one kind throughout): a country that issues IBANs,
    /// exactly that country's length, and the mod-97 checksum. Read without allocating: it is tried
    /// at every word start that begins with two letters and two digits.
    func iban(at start: Int) -> Range<Int>? {
        guard start + 15 < end, PIIDetector.isLetter(bytes[start + 1]), PIIDetector.isDigit(bytes[start + 2]),
              PIIDetector.isDigit(bytes[start + 3]),
              let length = PIIDetector.ibanLength(bytes[start], bytes[start + 1]) else { return nil }
        var count = 0
        var stop = start
        var separator: UInt8 = 0
        // Mod 97 of the characters after the first four, letters as 10...35; the first four follow.
        var remainder = 0
        while stop < end, count < length {
            let b = bytes[stop]
            if PIIDetector.isAlnum(b) {
                if count >= 4 { remainder = Self.mod97(remainder, b) }
                count += 1
            } else if b == UInt8(ascii: " ") || b == UInt8(ascii: "-"), count % 4 == 0, separator == 0 || separator == b,
                      PIIDetector.isAlnum(bytes[stop + 1]) {
                separator = b
            } else {
                break
            }
            stop += 1
        }
        guard count == length, !PIIDetector.isAlnum(bytes[stop]) else { return nil }
        for k in start..<(start + 4) { remainder = Self.mod97(remainder, bytes[k]) }
        return remainder == 1 ? start..<stop : nil
    }

    static func mod97(_ remainder: Int, _ b: UInt8) -> Int {
        if PIIDetector.isDigit(b) { return (remainder * 10 + Int(b - 48)) % 97 }
        return (remainder * 100 + Int((b | 0x20) - 97 + 10)) % 97
    }
}

extension PIIDetector {
    /// The IBAN's length for a country code, in either case; nil for a country that issues none.
    static func ibanLength(_ first: UInt8, _ second: UInt8) -> Int? {
        guard isLetter(first), isLetter(second) else { return nil }
        let length = ibanLengths[Int((first | 0x20) - 97) * 26 + Int((second | 0x20) - 97)]
        return length == 0 ? nil : Int(length)
    }

    /// IBAN lengths by country (SWIFT's IBAN registry, then the countries that use IBANs outside
    /// it: Algeria, Angola, Benin, Burkina Faso, Cameroon, Cape Verde,
    /// Central African Republic, Chad, Comoros, Congo, Côte d'Ivoire, Equatorial Guinea, Gabon,
    /// Guinea-Bissau, Honduras, Iran, Madagascar, Mali, Morocco, Mozambique, Niger, Senegal, Togo),
    /// a byte per pair of letters. Written out here: no library in the catalogue holds it.
    static let ibanLengths: [UInt8] = {
        let registry = """
            AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 DO28
            EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 HR21 HU28 IE22 IL23 IQ23 IS26
            IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28
            NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25
            SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30
            AO25 BF28 BJ28 CF27 CG27 CI28 CM27 CV25 DZ26 GA27 GQ27 GW25 IR26 KM27 MA28 MG27 ML28 MZ25 NE28 SN28 TD27 TG28
            """
        var lengths = [UInt8](repeating: 0, count: 26 * 26)
        for entry in registry.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let utf8 = Array(entry.utf8)
            lengths[Int(utf8[0] - 65) * 26 + Int(utf8[1] - 65)] = UInt8(utf8[2] - 48) * 10 + UInt8(utf8[3] - 48)
        }
        return lengths
    }()
}
