// Stub of androidx.biometric.BiometricManager (androidx.biometric 1.1.0): only the members used.
package androidx.biometric;

import android.content.Context;
import androidx.annotation.NonNull;

public class BiometricManager {
    public static final int BIOMETRIC_SUCCESS = 0;

    private BiometricManager() {
    }

    public interface Authenticators {
        int BIOMETRIC_STRONG = 15;
    }

    @NonNull
    public static BiometricManager from(@NonNull Context context) {
        throw new RuntimeException("Stub!");
    }

    public int canAuthenticate(int authenticators) {
        throw new RuntimeException("Stub!");
    }
}
