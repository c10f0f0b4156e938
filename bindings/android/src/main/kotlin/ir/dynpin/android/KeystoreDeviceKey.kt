package ir.dynpin.android

import ir.dynpin.DeviceKeyFailure
import ir.dynpin.DeviceKeyStore
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The vault's device key (`Authenticator.createBound`, `setDeviceKey`): an AES-256-GCM key in the
 * Android Keystore under [alias], made on the first [wrap]. The key cannot be exported (it stays in
 * the Keystore, in secure hardware where the phone has it) and needs no user authentication: it
 * ties the vault file to this phone, the password still opens it. It is not the biometric key
 * ([BiometricKey]).
 *
 * A wrapped secret is the 12-byte IV the Keystore chose, then the ciphertext with its 16-byte tag.
 * A blob another key wrapped (a vault file copied from another phone), or an altered one, fails
 * GCM's tag check: [DeviceKeyFailure.Rejected]. A missing key, or any other failure of the
 * Keystore: [DeviceKeyFailure.Unavailable]. Neither is counted as a wrong password.
 *
 * Called by the vault on a background thread, never the UI thread (see "Threads" in
 * bindings/README.md); it does not call back into the `Authenticator`.
 */
class KeystoreDeviceKey(private val alias: String = DEFAULT_ALIAS) : DeviceKeyStore {

    override fun wrap(secret: ByteArray): ByteArray = keystoreCall {
        val cipher = Cipher.getInstance(AES_GCM)
        cipher.init(Cipher.ENCRYPT_MODE, key(create = true))
        cipher.iv + cipher.doFinal(secret)
    }

    override fun unwrap(wrapped: ByteArray): ByteArray {
        if (wrapped.size < GCM_IV_BYTES + GCM_TAG_BYTES) throw DeviceKeyFailure.Rejected()
        return keystoreCall {
            val cipher = Cipher.getInstance(AES_GCM)
            cipher.init(Cipher.DECRYPT_MODE, key(create = false), GCMParameterSpec(GCM_TAG_BYTES * 8, wrapped, 0, GCM_IV_BYTES))
            cipher.doFinal(wrapped, GCM_IV_BYTES, wrapped.size - GCM_IV_BYTES)
        }
    }

    /** Called by `Authenticator.wipe()`: the vault is gone, so is its key. */
    override fun deleteKey() {
        keystoreCall {
            val keyStore = androidKeyStore()
            if (keyStore.containsAlias(alias)) keyStore.deleteEntry(alias)
        }
    }

    // Synchronized: two first wraps at once must not make two keys under one alias.
    @Synchronized
    private fun key(create: Boolean): SecretKey {
        (androidKeyStore().getKey(alias, null) as SecretKey?)?.let { return it }
        if (!create) throw DeviceKeyFailure.Unavailable()
        return generateAesGcmKey(alias)
    }

    // Every failure becomes one of the two answers the vault understands: an exception of
    // another type thrown through UniFFI would reach the Rust side as an unexpected error.
    private inline fun <T> keystoreCall(block: () -> T): T = try {
        block()
    } catch (e: DeviceKeyFailure) {
        throw e
    } catch (e: AEADBadTagException) {
        throw DeviceKeyFailure.Rejected()
    } catch (e: Exception) {
        throw DeviceKeyFailure.Unavailable()
    }

    companion object {
        const val DEFAULT_ALIAS = "dynpin-device"
    }
}
