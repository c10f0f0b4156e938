// Stub of androidx.fragment.app.FragmentActivity. The real class reaches Context through
// ComponentActivity, Activity, ContextThemeWrapper and ContextWrapper; only "is a Context" is used.
package androidx.fragment.app;

import android.content.Context;

public class FragmentActivity extends Context {
}
