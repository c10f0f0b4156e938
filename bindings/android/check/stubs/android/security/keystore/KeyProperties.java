// Stub of android.security.keystore.KeyProperties (API 23): the constants used, with their values.
package android.security.keystore;

public abstract class KeyProperties {
    private KeyProperties() {
    }

    public static final int PURPOSE_ENCRYPT = 1;
    public static final int PURPOSE_DECRYPT = 2;
    public static final String KEY_ALGORITHM_AES = "AES";
    public static final String BLOCK_MODE_GCM = "GCM";
    public static final String ENCRYPTION_PADDING_NONE = "NoPadding";
}
