// Stub of android.system.SystemCleaner (API 33), used by the Android flavour of the generated Kotlin.
package android.system;

import java.lang.ref.Cleaner;

public final class SystemCleaner {
    private SystemCleaner() {
    }

    public static Cleaner cleaner() {
        throw new RuntimeException("Stub!");
    }
}
