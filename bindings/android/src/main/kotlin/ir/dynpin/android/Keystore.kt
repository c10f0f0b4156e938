package ir.dynpin.android

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.security.KeyStore
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

// What the device key and the biometric key share: the Android Keystore, and a
// non-exportable AES-256-GCM key generated in it.

internal const val ANDROID_KEYSTORE = "AndroidKeyStore"

/** The cipher of both keys, its IV length (the Keystore chooses the IV) and its tag length. */
internal const val AES_GCM = "AES/GCM/NoPadding"
internal const val GCM_IV_BYTES = 12
internal const val GCM_TAG_BYTES = 16

internal fun androidKeyStore(): KeyStore = KeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }

/**
 * A new AES-256-GCM key (no padding; the IV chosen by the Keystore) under [alias]
 * (replacing one already there), with [restrict] adding the key's conditions of use.
 */
internal fun generateAesGcmKey(
    alias: String,
    restrict: KeyGenParameterSpec.Builder.() -> KeyGenParameterSpec.Builder = { this },
): SecretKey {
    val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE)
    generator.init(
        KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setKeySize(256)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .restrict()
            .build(),
    )
    return generator.generateKey()
}
