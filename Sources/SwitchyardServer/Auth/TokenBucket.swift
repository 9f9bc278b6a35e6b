/// A per-minute allowance that refills continuously: `capacity` a minute, at most `capacity` saved.
/// Pure value: time is passed in, so every case is unit-tested without waiting.
struct TokenBucket: Equatable {
    let capacity: Double
    private(set) var level: Double
    private var updatedAt: Double

    init(perMinute capacity: Int, now: Double) {
        self.capacity = Double(max(1, capacity))
        level = self.capacity
        updatedAt = now
    }

    private var ratePerSecond: Double { capacity / 60 }

    mutating func refill(_ now: Double) {
        guard now > updatedAt else { return }
        level = min(capacity, level + (now - updatedAt) * ratePerSecond)
        updatedAt = now
    }

    /// Takes `amount` if that much is left; otherwise says how long until it is (seconds).
    mutating func take(_ amount: Double, now: Double) -> Double? {
        refill(now)
        guard level >= amount else { return (amount - level) / ratePerSecond }
        level -= amount
        return nil
    }

    /// Seconds until something is left (0 when there is already).
    mutating func waitForAny(now: Double) -> Double? {
        refill(now)
        return level > 0 ? nil : (-level + 1) / ratePerSecond
    }

    /// Charges what was used after the fact; the level may go below zero (at most one minute's
    /// worth), which later requests wait out.
    mutating func debit(_ amount: Double, now: Double) {
        refill(now)
        level = max(-capacity, level - amount)
    }

    /// Seconds until the bucket is full again.
    func secondsToFull() -> Double { max(0, (capacity - level) / ratePerSecond) }
}
