// Biometric unlock on iOS, over a Secure Enclave key bound to the current biometry. Compiled only
// where Security and LocalAuthentication exist (Apple platforms); elsewhere this file is empty.
#if canImport(Security) && canImport(LocalAuthentication)
import Foundation
import LocalAuthentication
import Security

/// Biometric unlock over the vault's platform-key slot, without storing the key anywhere.
///
/// - `enrol` (vault unlocked): after a Face ID / Touch ID check, a P-256 key is made in the Secure
///   Enclave under `tag`, usable only after biometry of the set enrolled now
///   (`.privateKeyUsage, .biometryCurrentSet`, this device only). 32 fresh random bytes, the
///   platform key, are encrypted with its public key (ECIES, AES-GCM); the vault keeps the result
///   with `enrolPlatformKey(key:wrappedKey:)` and the raw key is wiped.
/// - `unlock` (vault locked): `platformKeyBlob()` gives the wrapped key back; an `LAContext`
///   evaluates biometry and is handed to the keychain (`kSecUseAuthenticationContext`), so the
///   Secure Enclave decrypts without a second prompt; `unlockWithPlatformKey(key:)` opens the
///   vault and the key is wiped.
/// - A key invalidated by a biometry change (a face or finger added, or all removed): the key is
///   gone or refuses the authenticated context. That is reported with
///   `recordPlatformKeyInvalidated()` and `.usePassword` is returned: unlock with the password
///   (which removes the dead slot), then enrol again.
///
/// A prompt that closes without success throws its `LAError` (`.userCancel`, `.userFallback`,
/// `.biometryLockout`, …); errors of the vault throw `DynpinError`. Call from a `Task`; the app's
/// Info.plist needs `NSFaceIDUsageDescription`. Show the option only if `isAvailable()`.
public final class BiometricKey: Sendable {
    public enum Outcome: Sendable, Equatable {
        case unlocked
        /// Biometric unlock cannot open this vault (not enrolled, or the key is gone): ask for the password.
        case usePassword
    }

    /// A keychain call failed with this status (other than "not found").
    public struct KeychainError: Error, Equatable {
        public let status: OSStatus
    }

    private let tag: Data
    private let accessGroup: String?
    private var algorithm: SecKeyAlgorithm { .eciesEncryptionCofactorVariableIVX963SHA256AESGCM }

    public init(tag: String = "ir.dynpin.biometric", accessGroup: String? = nil) {
        self.tag = Data(tag.utf8)
        self.accessGroup = accessGroup
    }

    /// True if Face ID or Touch ID is set up and usable.
    public static func isAvailable() -> Bool {
        var error: NSError?
        return LAContext().canEvaluatePolicy(.deviceOwnerAuthenticationWithBiometrics, error: &error)
    }

    /// Enables biometric unlock. The vault must be unlocked and have no platform key yet.
    public func enrol(auth: any AuthenticatorProtocol, reason: String) async throws {
        // Checked before the Secure Enclave key is replaced: an enrolled slot would lose its key.
        if try auth.hasPlatformKey() { throw DynpinError.PlatformKeyAlreadyEnrolled }
        _ = try await LAContext().evaluatePolicy(.deviceOwnerAuthenticationWithBiometrics, localizedReason: reason)
        try deleteKey()
        let privateKey = try createKey()
        guard let publicKey = SecKeyCopyPublicKey(privateKey) else { throw KeychainError(status: errSecInternalComponent) }

        var key = Data(count: 32)
        defer { key.resetBytes(in: 0..<key.count) }
        let count = key.count
        let random = key.withUnsafeMutableBytes { SecRandomCopyBytes(kSecRandomDefault, count, $0.baseAddress!) }
        guard random == errSecSuccess else { throw KeychainError(status: random) }
        var error: Unmanaged<CFError>?
        guard let wrapped = SecKeyCreateEncryptedData(publicKey, algorithm, key as CFData, &error) else {
            throw error.map { $0.takeRetainedValue() as Error } ?? KeychainError(status: errSecInternalComponent)
        }
        try auth.enrolPlatformKey(key: key, wrappedKey: wrapped as Data)
    }

    /// Unlocks the vault after Face ID / Touch ID; `.usePassword` if biometric unlock cannot do it.
    public func unlock(auth: any AuthenticatorProtocol, reason: String) async throws -> Outcome {
        guard let blob = try auth.platformKeyBlob() else { return .usePassword }
        let context = LAContext()
        do {
            _ = try await context.evaluatePolicy(.deviceOwnerAuthenticationWithBiometrics, localizedReason: reason)
        } catch let error as LAError where error.code == .biometryNotEnrolled {
            return try invalidated(auth) // every biometry removed: a .biometryCurrentSet key is gone for good
        }
        guard let privateKey = try existingKey(context: context) else { return try invalidated(auth) }
        var error: Unmanaged<CFError>?
        // The context holds a fresh biometric match, so a refusal here means the key no longer
        // accepts the enrolled biometry (it changed since enrolment), or the blob is not its own.
        guard let decrypted = SecKeyCreateDecryptedData(privateKey, algorithm, blob as CFData, &error) else {
            return try invalidated(auth)
        }
        var key = decrypted as Data
        defer { key.resetBytes(in: 0..<key.count) }
        do {
            try auth.unlockWithPlatformKey(key: key)
        } catch DynpinError.PlatformKeyInvalidated, DynpinError.NoPlatformKey {
            return .usePassword
        }
        return .unlocked
    }

    /// Deletes the Secure Enclave key, after `removePlatformKey(password:)` turned biometric unlock off.
    public func deleteKey() throws {
        let status = SecItemDelete(itemQuery() as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw KeychainError(status: status) }
    }

    private func invalidated(_ auth: any AuthenticatorProtocol) throws -> Outcome {
        try auth.recordPlatformKeyInvalidated()
        try? deleteKey()
        return .usePassword
    }

    private func itemQuery() -> [String: Any] {
        var query: [String: Any] = [
            kSecClass as String: kSecClassKey,
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrKeyClass as String: kSecAttrKeyClassPrivate,
            kSecAttrApplicationTag as String: tag,
        ]
        if let accessGroup { query[kSecAttrAccessGroup as String] = accessGroup }
        return query
    }

    private func existingKey(context: LAContext) throws -> SecKey? {
        var query = itemQuery()
        query[kSecReturnRef as String] = true
        query[kSecUseAuthenticationContext as String] = context
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess, let item else { throw KeychainError(status: status) }
        return (item as! SecKey) // a CoreFoundation type: the cast cannot fail
    }

    private func createKey() throws -> SecKey {
        try createSecureEnclaveKey(tag: tag, accessGroup: accessGroup, flags: [.privateKeyUsage, .biometryCurrentSet])
    }
}
#endif
