// Stand-in for Apple's LocalAuthentication framework, declaring only what
// bindings/ios/Sources/DynPin uses, with the signatures Swift imports on Apple platforms
// (evaluatePolicy's async form is the one Swift derives from its completion handler).
// For scripts/check-platform-code; nothing here runs (see ../README.md).
import Foundation

// Foundation's on Apple platforms (an AutoreleasingUnsafeMutablePointer there), missing on Linux;
// `&error` passes an `NSError?` variable to either.
public typealias NSErrorPointer = UnsafeMutablePointer<NSError?>?

public enum LAPolicy: Int, Sendable {
    case deviceOwnerAuthenticationWithBiometrics = 1
    case deviceOwnerAuthentication = 2
}

public struct LAError: Error {
    public enum Code: Int, Sendable {
        case authenticationFailed = -1
        case userCancel = -2
        case userFallback = -3
        case systemCancel = -4
        case passcodeNotSet = -5
        case biometryNotAvailable = -6
        case biometryNotEnrolled = -7
        case biometryLockout = -8
        case appCancel = -9
        case invalidContext = -10
    }

    public let code: Code
}

open class LAContext: NSObject {
    override public init() { super.init() }

    open func canEvaluatePolicy(_ policy: LAPolicy, error: NSErrorPointer) -> Bool { fatalError("stub") }

    open func evaluatePolicy(
        _ policy: LAPolicy, localizedReason: String, reply: @escaping @Sendable (Bool, (any Error)?) -> Void
    ) { fatalError("stub") }

    open func evaluatePolicy(_ policy: LAPolicy, localizedReason: String) async throws -> Bool { fatalError("stub") }
}
