# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts sourcing this
# Shared definitions for scripts/install-kotlin and scripts/kotlinc.
# Needs lib/common.sh to be sourced first.

DYNPIN_KOTLIN_VERSION="${DYNPIN_KOTLIN_VERSION:-2.4.20}"
KOTLIN_PREFIX="$DYNPIN_TOOLS/kotlin"                      # npm --prefix
KOTLIN_HOME="$KOTLIN_PREFIX/node_modules/kotlin-compiler" # what the npm package unpacks
KOTLINC_JVM="$KOTLIN_HOME/bin/kotlinc-jvm"
KOTLIN_STDLIB="$KOTLIN_HOME/lib/kotlin-stdlib.jar"
KOTLIN_COMPILER_JAR="$KOTLIN_HOME/lib/kotlin-compiler.jar"
# kotlinx-coroutines for the JVM, shipped inside the compiler package: what the
# bindings' suspend functions need (an Android app has its own).
COROUTINES_JAR="$KOTLIN_HOME/lib/kotlinx-coroutines-core-jvm.jar"
JNA_JAR=/usr/share/java/jna.jar
# JVM flags that make a short kotlinc run much cheaper (C1 JIT only, serial GC).
KOTLINC_FAST_JVM_FLAGS=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
# AppCDS archive of the compiler's classes, made by install-kotlin, used by scripts/kotlinc.
KOTLINC_CDS="$KOTLIN_PREFIX/kotlinc.jsa"

# Identity of the java + compiler the CDS archive was made for.
kotlinc_cds_id() {
    local java jvm
    java="$(realpath "$(command -v "${JAVACMD:-java}")" 2>/dev/null)" || return 0
    jvm="$(dirname "$java")/../lib/server/libjvm.so"
    printf '%s %s %s %s\n' "$DYNPIN_KOTLIN_VERSION" "$java" \
        "$(stat -L -c %s:%Y "$java" 2>/dev/null)" "$(stat -L -c %s:%Y "$jvm" 2>/dev/null)"
}
