/// A small seeded generator (Steele, Lea and Flood's SplitMix64), for draws that repeat exactly:
/// eval folds and baselines, and the risk threshold's choice of where its test sequence starts,
/// which every replica must make alike from the same labels.
public struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
