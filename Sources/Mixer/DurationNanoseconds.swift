extension Duration {
    /// The whole duration in nanoseconds (for timing a tick's parts).
    var nanoseconds: Int64 {
        let c = components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
}
