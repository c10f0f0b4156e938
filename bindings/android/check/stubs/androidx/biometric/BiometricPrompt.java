// Stub of androidx.biometric.BiometricPrompt (androidx.biometric 1.1.0): only the members used,
// with the nullability of the library's API file (getCryptoObject and getCipher may be null).
package androidx.biometric;

import androidx.annotation.NonNull;
import androidx.annotation.Nullable;
import androidx.fragment.app.FragmentActivity;
import javax.crypto.Cipher;

public class BiometricPrompt {
    public BiometricPrompt(@NonNull FragmentActivity activity, @NonNull AuthenticationCallback callback) {
        throw new RuntimeException("Stub!");
    }

    public void authenticate(@NonNull PromptInfo info, @NonNull CryptoObject crypto) {
        throw new RuntimeException("Stub!");
    }

    public void cancelAuthentication() {
        throw new RuntimeException("Stub!");
    }

    public abstract static class AuthenticationCallback {
        public AuthenticationCallback() {
        }

        public void onAuthenticationError(int errorCode, @NonNull CharSequence errString) {
        }

        public void onAuthenticationSucceeded(@NonNull AuthenticationResult result) {
        }

        public void onAuthenticationFailed() {
        }
    }

    public static class AuthenticationResult {
        private AuthenticationResult() {
        }

        @Nullable
        public CryptoObject getCryptoObject() {
            throw new RuntimeException("Stub!");
        }
    }

    public static class CryptoObject {
        public CryptoObject(@NonNull Cipher cipher) {
            throw new RuntimeException("Stub!");
        }

        @Nullable
        public Cipher getCipher() {
            throw new RuntimeException("Stub!");
        }
    }

    public static class PromptInfo {
        private PromptInfo() {
        }

        public static class Builder {
            public Builder() {
            }

            @NonNull
            public Builder setTitle(@NonNull CharSequence title) {
                throw new RuntimeException("Stub!");
            }

            @NonNull
            public Builder setNegativeButtonText(@NonNull CharSequence negativeButtonText) {
                throw new RuntimeException("Stub!");
            }

            @NonNull
            public Builder setAllowedAuthenticators(int allowedAuthenticators) {
                throw new RuntimeException("Stub!");
            }

            @NonNull
            public PromptInfo build() {
                throw new RuntimeException("Stub!");
            }
        }
    }
}
