// Stub of android.security.keystore.KeyGenParameterSpec (API 23) and its Builder: only the
// members used. setInvalidatedByBiometricEnrollment is API 24 (the library's minSdk).
package android.security.keystore;

import androidx.annotation.NonNull;
import java.security.spec.AlgorithmParameterSpec;

public final class KeyGenParameterSpec implements AlgorithmParameterSpec {
    private KeyGenParameterSpec() {
    }

    public static final class Builder {
        public Builder(@NonNull String keystoreAlias, int purposes) {
            throw new RuntimeException("Stub!");
        }

        @NonNull
        public Builder setKeySize(int keySize) {
            throw new RuntimeException("Stub!");
        }

        @NonNull
        public Builder setBlockModes(String... blockModes) {
            throw new RuntimeException("Stub!");
        }

        @NonNull
        public Builder setEncryptionPaddings(String... paddings) {
            throw new RuntimeException("Stub!");
        }

        @NonNull
        public Builder setUserAuthenticationRequired(boolean required) {
            throw new RuntimeException("Stub!");
        }

        @NonNull
        public Builder setInvalidatedByBiometricEnrollment(boolean invalidateKey) {
            throw new RuntimeException("Stub!");
        }

        @NonNull
        public KeyGenParameterSpec build() {
            throw new RuntimeException("Stub!");
        }
    }
}
