/// An error met while reading a file, shown as "PATH: message" (unless the message names the file already),
/// so every error line says which of a command's inputs is at fault.
public struct NamedFileError: Error, CustomStringConvertible {
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public init(path: String, error: any Error) {
        self.init(path: path, message: "\(error)")
    }

    public var description: String { message.contains(path) ? message : "\(path): \(message)" }

    /// Runs `body`, naming `path` in any error it throws.
    public static func naming<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as NamedFileError { throw error } catch {
            throw NamedFileError(path: path, error: error)
        }
    }
}
