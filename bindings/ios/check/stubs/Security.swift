// Stand-in for Apple's Security framework (and the CoreFoundation types it uses), declaring only
// what bindings/ios/Sources/DynPin uses, with the signatures Swift imports on Apple platforms.
// For scripts/check-platform-code; nothing here runs (see ../README.md).
import Foundation

// CoreFoundation: Foundation classes stand in for the toll-free bridged types. The values of the
// constants are placeholders (only the error codes are the real ones).
public typealias CFTypeRef = AnyObject
public typealias CFString = NSString
public typealias CFData = NSData
public typealias CFDictionary = NSDictionary
public typealias CFError = NSError
public final class CFAllocator {}
public let kCFAllocatorDefault: CFAllocator! = nil
public typealias OSStatus = Int32

public final class SecKey {}
public final class SecAccessControl {}
public typealias SecRandomRef = OpaquePointer

public struct SecAccessControlCreateFlags: OptionSet, Sendable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
    public static let biometryCurrentSet = SecAccessControlCreateFlags(rawValue: 1 << 3)
    public static let privateKeyUsage = SecAccessControlCreateFlags(rawValue: 1 << 30)
}

public struct SecKeyAlgorithm: RawRepresentable, Hashable {
    public let rawValue: CFString
    public init(rawValue: CFString) { self.rawValue = rawValue }
    public static let eciesEncryptionCofactorVariableIVX963SHA256AESGCM =
        SecKeyAlgorithm(rawValue: "eciesEncryptionCofactorVariableIVX963SHA256AESGCM")
}

public var errSecSuccess: OSStatus { 0 }
public var errSecParam: OSStatus { -50 }
public var errSecInternalComponent: OSStatus { -2070 }
public var errSecItemNotFound: OSStatus { -25300 }

public let kSecClass: CFString = "kSecClass"
public let kSecClassKey: CFString = "kSecClassKey"
public let kSecAttrKeyType: CFString = "kSecAttrKeyType"
public let kSecAttrKeyTypeECSECPrimeRandom: CFString = "kSecAttrKeyTypeECSECPrimeRandom"
public let kSecAttrKeyClass: CFString = "kSecAttrKeyClass"
public let kSecAttrKeyClassPrivate: CFString = "kSecAttrKeyClassPrivate"
public let kSecAttrKeySizeInBits: CFString = "kSecAttrKeySizeInBits"
public let kSecAttrApplicationTag: CFString = "kSecAttrApplicationTag"
public let kSecAttrAccessGroup: CFString = "kSecAttrAccessGroup"
public let kSecAttrTokenID: CFString = "kSecAttrTokenID"
public let kSecAttrTokenIDSecureEnclave: CFString = "kSecAttrTokenIDSecureEnclave"
public let kSecAttrIsPermanent: CFString = "kSecAttrIsPermanent"
public let kSecAttrAccessControl: CFString = "kSecAttrAccessControl"
public let kSecAttrAccessibleWhenUnlockedThisDeviceOnly: CFString = "kSecAttrAccessibleWhenUnlockedThisDeviceOnly"
public let kSecPrivateKeyAttrs: CFString = "kSecPrivateKeyAttrs"
public let kSecReturnRef: CFString = "kSecReturnRef"
public let kSecUseAuthenticationContext: CFString = "kSecUseAuthenticationContext"
public let kSecRandomDefault: SecRandomRef = OpaquePointer(bitPattern: 1)!

public func SecAccessControlCreateWithFlags(
    _ allocator: CFAllocator?, _ protection: CFTypeRef, _ flags: SecAccessControlCreateFlags,
    _ error: UnsafeMutablePointer<Unmanaged<CFError>?>?
) -> SecAccessControl? { fatalError("stub") }

public func SecKeyCreateRandomKey(
    _ parameters: CFDictionary, _ error: UnsafeMutablePointer<Unmanaged<CFError>?>?
) -> SecKey? { fatalError("stub") }

public func SecKeyCopyPublicKey(_ key: SecKey) -> SecKey? { fatalError("stub") }

public func SecKeyCreateEncryptedData(
    _ key: SecKey, _ algorithm: SecKeyAlgorithm, _ plaintext: CFData,
    _ error: UnsafeMutablePointer<Unmanaged<CFError>?>?
) -> CFData? { fatalError("stub") }

public func SecKeyCreateDecryptedData(
    _ key: SecKey, _ algorithm: SecKeyAlgorithm, _ ciphertext: CFData,
    _ error: UnsafeMutablePointer<Unmanaged<CFError>?>?
) -> CFData? { fatalError("stub") }

public func SecItemCopyMatching(_ query: CFDictionary, _ result: UnsafeMutablePointer<CFTypeRef?>?) -> OSStatus {
    fatalError("stub")
}

public func SecItemDelete(_ query: CFDictionary) -> OSStatus { fatalError("stub") }

public func SecRandomCopyBytes(_ rnd: SecRandomRef?, _ count: Int, _ bytes: UnsafeMutableRawPointer) -> Int32 {
    fatalError("stub")
}
