// The vault's device key on iOS, over the Secure Enclave. Compiled only where Security and
// LocalAuthentication exist (Apple platforms); elsewhere this file is empty.
#if canImport(Security) && canImport(LocalAuthentication)
import Foundation
import Security

/// The vault's device key (`Authenticator.createBound`, `setDeviceKey`): a P-256 key made in the
/// Secure Enclave on the first `wrap`, under the application tag `tag`. Its private half never
/// leaves the Secure Enclave; it is usable while the phone is unlocked, on this phone only
/// (`kSecAttrAccessibleWhenUnlockedThisDeviceOnly`), with no biometry: it ties the vault file to
/// this phone, the password still opens it. It is not the biometric key (`BiometricKey`).
///
/// `wrap` encrypts with the public key (ECIES: an ephemeral P-256 key, X9.63 KDF with SHA-256,
/// AES-GCM); `unwrap` decrypts in the Secure Enclave. A blob another key wrapped (a vault copied
/// from another phone) or an altered one does not decrypt: `DeviceKeyFailure.Rejected`. A missing
/// key, a locked phone or any other keychain failure: `DeviceKeyFailure.Unavailable`. Neither is
/// counted as a wrong password. The simulator has no Secure Enclave: there every call is
/// `Unavailable`.
///
/// `accessGroup`: a keychain access group shared with an app extension that opens the same vault
/// (a widget, an AutoFill extension); `nil` uses the app's default group.
public final class SecureEnclaveDeviceKey: DeviceKeyStore, @unchecked Sendable {
    // @unchecked: the stored properties are constants, and the lock is only used to serialise
    // the first key creation (two keys under one tag would make unwrap pick either).
    private let tag: Data
    private let accessGroup: String?
    private let creation = NSLock()
    private var algorithm: SecKeyAlgorithm { .eciesEncryptionCofactorVariableIVX963SHA256AESGCM }

    public init(tag: String = "ir.dynpin.device", accessGroup: String? = nil) {
        self.tag = Data(tag.utf8)
        self.accessGroup = accessGroup
    }

    public func wrap(secret: Data) throws -> Data {
        let key = try privateKey(create: true)
        guard let publicKey = SecKeyCopyPublicKey(key) else {
            throw DeviceKeyFailure.Unavailable
        }
        var error: Unmanaged<CFError>?
        guard let wrapped = SecKeyCreateEncryptedData(publicKey, algorithm, secret as CFData, &error) else {
            throw DeviceKeyFailure.Unavailable
        }
        return wrapped as Data
    }

    public func unwrap(wrapped: Data) throws -> Data {
        let key = try privateKey(create: false)
        var error: Unmanaged<CFError>?
        guard let secret = SecKeyCreateDecryptedData(key, algorithm, wrapped as CFData, &error) else {
            throw DeviceKeyFailure.Rejected
        }
        return secret as Data
    }

    /// Called by `Authenticator.wipe()`: the vault is gone, so is its key.
    public func deleteKey() throws {
        let status = SecItemDelete(itemQuery() as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw DeviceKeyFailure.Unavailable
        }
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

    private func privateKey(create: Bool) throws -> SecKey {
        creation.lock()
        defer { creation.unlock() }
        var query = itemQuery()
        query[kSecReturnRef as String] = true
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecSuccess, let item {
            return item as! SecKey // a CoreFoundation type: the cast cannot fail
        }
        guard status == errSecItemNotFound, create else { throw DeviceKeyFailure.Unavailable }
        do {
            return try createSecureEnclaveKey(tag: tag, accessGroup: accessGroup, flags: .privateKeyUsage)
        } catch {
            throw DeviceKeyFailure.Unavailable
        }
    }
}

/// A new permanent P-256 key in the Secure Enclave under `tag`, usable only
/// while the phone is unlocked and only on this device, with `flags` on the
/// private key's use (`.privateKeyUsage`, plus `.biometryCurrentSet` for the
/// biometric key). Throws the Security framework's error (a
/// `BiometricKey.KeychainError` when it gives none).
func createSecureEnclaveKey(tag: Data, accessGroup: String?, flags: SecAccessControlCreateFlags) throws -> SecKey {
    var error: Unmanaged<CFError>?
    guard let access = SecAccessControlCreateWithFlags(
        kCFAllocatorDefault, kSecAttrAccessibleWhenUnlockedThisDeviceOnly, flags, &error)
    else { throw error.map { $0.takeRetainedValue() as Error } ?? BiometricKey.KeychainError(status: errSecParam) }
    var attributes: [String: Any] = [
        kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
        kSecAttrKeySizeInBits as String: 256,
        kSecAttrTokenID as String: kSecAttrTokenIDSecureEnclave,
        kSecPrivateKeyAttrs as String: [
            kSecAttrIsPermanent as String: true,
            kSecAttrApplicationTag as String: tag,
            kSecAttrAccessControl as String: access,
        ] as [String: Any],
    ]
    if let accessGroup { attributes[kSecAttrAccessGroup as String] = accessGroup }
    guard let key = SecKeyCreateRandomKey(attributes as CFDictionary, &error) else {
        throw error.map { $0.takeRetainedValue() as Error } ?? BiometricKey.KeychainError(status: errSecParam)
    }
    return key
}
#endif
