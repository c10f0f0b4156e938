// Stub of android.content.Context (API 1) for scripts/check-platform-code; see ../../README.md.
package android.content;

public abstract class Context {
}
