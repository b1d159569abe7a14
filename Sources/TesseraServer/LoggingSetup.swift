import Logging

/// Log handlers with a level per area: a logger labelled `tessera.<area>`
/// uses that area's level from the config, others the default level.
public enum LoggingSetup {
    public static func bootstrap(_ config: TesseraConfig) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            let area = label.hasPrefix("tessera.") ? String(label.dropFirst("tessera.".count)) : ""
            handler.logLevel = config.logLevel(for: area)
            return handler
        }
    }
}
