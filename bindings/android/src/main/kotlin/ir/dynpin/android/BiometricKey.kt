package ir.dynpin.android

import android.content.Context
import android.security.keystore.KeyPermanentlyInvalidatedException
import androidx.biometric.BiometricManager
import androidx.biometric.BiometricPrompt
import androidx.fragment.app.FragmentActivity
import ir.dynpin.AuthenticatorInterface
import ir.dynpin.DynpinException
import java.security.SecureRandom
import java.security.UnrecoverableKeyException
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException
import kotlinx.coroutines.suspendCancellableCoroutine

/**
 * Biometric unlock over the vault's platform-key slot, without storing the key anywhere.
 *
 * - [enrol] (vault unlocked): 32 fresh random bytes, the platform key, are encrypted by an Android
 *   Keystore AES-256-GCM key under [alias] that needs a strong biometric for every use and is
 *   invalidated when a biometric is added or all are removed. The encrypting cipher is authorised
 *   by a [BiometricPrompt] (`CryptoObject`); the vault keeps the result (IV, ciphertext, tag) with
 *   `enrolPlatformKey(key, wrapped)` and the raw key is wiped.
 * - [unlock] (vault locked): `platformKeyBlob()` gives the wrapped key back, the prompt authorises
 *   the decrypting cipher, `unlockWithPlatformKey(key)` opens the vault, the key is wiped.
 * - A key invalidated by a biometric change (`KeyPermanentlyInvalidatedException` when the cipher
 *   is initialised) is reported with `recordPlatformKeyInvalidated()` and [Outcome.UsePassword] is
 *   returned: unlock with the password (which removes the dead slot), then enrol again.
 *
 * Both are suspend functions: call them on the main thread from a scope tied to the activity
 * (`lifecycleScope.launch { … }`); each shows the prompt and resumes when it closes. Cancelling the
 * coroutine (the activity is destroyed, a rotation included) cancels the prompt: start again. The
 * vault calls made here take one save at most. Show the option only if [isAvailable]; the app's
 * manifest needs nothing (androidx.biometric declares `USE_BIOMETRIC`).
 */
class BiometricKey(private val alias: String = DEFAULT_ALIAS) {

    /** How [enrol] or [unlock] ended, when it did not throw. */
    sealed interface Outcome {
        /** Enrolled, or unlocked. */
        data object Done : Outcome

        /** Biometric unlock cannot open this vault (not enrolled, or the key is gone): ask for the password. */
        data object UsePassword : Outcome

        /** The prompt closed without success; [errorCode] is a `BiometricPrompt.ERROR_*` (user cancel, lockout, …). */
        data class Cancelled(val errorCode: Int, val message: CharSequence) : Outcome
    }

    /** Enables biometric unlock. The vault must be unlocked and have no platform key yet. */
    suspend fun enrol(activity: FragmentActivity, auth: AuthenticatorInterface, prompt: BiometricPrompt.PromptInfo): Outcome {
        // Checked before the Keystore key is replaced: an enrolled slot would lose its key.
        if (auth.hasPlatformKey()) throw DynpinException.PlatformKeyAlreadyEnrolled()
        val cipher = Cipher.getInstance(AES_GCM)
        cipher.init(Cipher.ENCRYPT_MODE, newKey())
        val authorised = when (val prompted = authorise(activity, prompt, cipher)) {
            is Prompted.Authorised -> prompted.cipher
            is Prompted.Closed -> return prompted.outcome
        }
        val key = ByteArray(KEY_BYTES).also { SecureRandom().nextBytes(it) }
        try {
            auth.enrolPlatformKey(key, authorised.iv + authorised.doFinal(key))
        } finally {
            key.fill(0)
        }
        return Outcome.Done
    }

    /** Unlocks the vault after the prompt; [Outcome.UsePassword] if biometric unlock cannot do it. */
    suspend fun unlock(activity: FragmentActivity, auth: AuthenticatorInterface, prompt: BiometricPrompt.PromptInfo): Outcome {
        val blob = auth.platformKeyBlob() ?: return Outcome.UsePassword
        if (blob.size < GCM_IV_BYTES + GCM_TAG_BYTES) return invalidated(auth)
        val cipher = Cipher.getInstance(AES_GCM)
        try {
            val key = existingKey() ?: return invalidated(auth)
            cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(GCM_TAG_BYTES * 8, blob, 0, GCM_IV_BYTES))
        } catch (e: KeyPermanentlyInvalidatedException) {
            return invalidated(auth)
        } catch (e: UnrecoverableKeyException) {
            return invalidated(auth) // newer Keystores report an invalidated key already here
        }
        val authorised = when (val prompted = authorise(activity, prompt, cipher)) {
            is Prompted.Authorised -> prompted.cipher
            is Prompted.Closed -> return prompted.outcome
        }
        val key = try {
            authorised.doFinal(blob, GCM_IV_BYTES, blob.size - GCM_IV_BYTES)
        } catch (e: AEADBadTagException) {
            return invalidated(auth) // a blob this key did not wrap: it can never open the vault
        }
        try {
            auth.unlockWithPlatformKey(key)
        } catch (e: DynpinException.PlatformKeyInvalidated) {
            return Outcome.UsePassword
        } catch (e: DynpinException.NoPlatformKey) {
            return Outcome.UsePassword
        } finally {
            key.fill(0)
        }
        return Outcome.Done
    }

    /** Deletes the Keystore key, after `removePlatformKey(password)` turned biometric unlock off. */
    fun deleteKey() {
        val keyStore = androidKeyStore()
        if (keyStore.containsAlias(alias)) keyStore.deleteEntry(alias)
    }

    private fun invalidated(auth: AuthenticatorInterface): Outcome {
        auth.recordPlatformKeyInvalidated()
        deleteKey()
        return Outcome.UsePassword
    }

    private fun existingKey(): SecretKey? = androidKeyStore().getKey(alias, null) as SecretKey?

    // A new key each enrolment (generating under an existing alias replaces that key).
    private fun newKey(): SecretKey = generateAesGcmKey(alias) {
        setUserAuthenticationRequired(true) // no validity duration: every use needs the prompt
            .setInvalidatedByBiometricEnrollment(true)
    }

    private sealed interface Prompted {
        class Authorised(val cipher: Cipher) : Prompted
        class Closed(val outcome: Outcome.Cancelled) : Prompted
    }

    private suspend fun authorise(activity: FragmentActivity, info: BiometricPrompt.PromptInfo, cipher: Cipher): Prompted =
        suspendCancellableCoroutine { continuation ->
            val callback = object : BiometricPrompt.AuthenticationCallback() {
                override fun onAuthenticationSucceeded(result: BiometricPrompt.AuthenticationResult) {
                    if (!continuation.isActive) return
                    val authorised = result.cryptoObject?.cipher
                    if (authorised != null) {
                        continuation.resume(Prompted.Authorised(authorised))
                    } else {
                        continuation.resumeWithException(IllegalStateException("BiometricPrompt returned no cipher"))
                    }
                }

                override fun onAuthenticationError(errorCode: Int, errString: CharSequence) {
                    if (continuation.isActive) continuation.resume(Prompted.Closed(Outcome.Cancelled(errorCode, errString)))
                }
                // onAuthenticationFailed (a face or finger not recognised): the prompt stays open.
            }
            val biometricPrompt = BiometricPrompt(activity, callback)
            continuation.invokeOnCancellation { biometricPrompt.cancelAuthentication() }
            biometricPrompt.authenticate(info, BiometricPrompt.CryptoObject(cipher))
        }

    companion object {
        const val DEFAULT_ALIAS = "dynpin-biometric"
        private const val KEY_BYTES = 32

        /** True if a strong (class 3) biometric is enrolled: the only kind a Keystore key can require here. */
        fun isAvailable(context: Context): Boolean =
            BiometricManager.from(context).canAuthenticate(BiometricManager.Authenticators.BIOMETRIC_STRONG) ==
                BiometricManager.BIOMETRIC_SUCCESS

        /** A prompt for [enrol] and [unlock]: strong biometrics only, with a button that closes it (e.g. "Use password"). */
        fun promptInfo(title: CharSequence, negativeButtonText: CharSequence): BiometricPrompt.PromptInfo =
            BiometricPrompt.PromptInfo.Builder()
                .setTitle(title)
                .setNegativeButtonText(negativeButtonText)
                .setAllowedAuthenticators(BiometricManager.Authenticators.BIOMETRIC_STRONG)
                .build()
    }
}
