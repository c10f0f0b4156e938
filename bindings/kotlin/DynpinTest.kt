// The app lifecycle through the generated Kotlin bindings, on the JVM with JNA.
// Run by scripts/test-bindings; prints "kotlin: N passed, 0 failed".
// The slow calls are `suspend`: main runs in runBlocking, as an app calls them
// from a coroutine (lifecycleScope.launch { … }); they run on a thread of their own.
import ir.dynpin.*
import kotlinx.coroutines.runBlocking
import java.io.File
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong

class FixedClock(millis: Long) : MobileClock {
    val now = AtomicLong(millis)
    val calls = AtomicInteger(0)
    override fun nowMillis(): Long { calls.incrementAndGet(); return now.get() }
}

// A software stand-in for the Android Keystore key of bindings/README.md:
// AES-256-GCM under a key held in memory (a real app's key never leaves the Keystore).
class SoftwareKeyStore : DeviceKeyStore {
    @Volatile var key: javax.crypto.SecretKey? =
        javax.crypto.KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
    override fun wrap(secret: ByteArray): ByteArray {
        val k = key ?: throw DeviceKeyFailure.Unavailable()
        val cipher = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(javax.crypto.Cipher.ENCRYPT_MODE, k)
        return cipher.iv + cipher.doFinal(secret)
    }
    override fun unwrap(wrapped: ByteArray): ByteArray {
        val k = key ?: throw DeviceKeyFailure.Unavailable()
        if (wrapped.size < 12 + 16) throw DeviceKeyFailure.Rejected()
        val cipher = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(javax.crypto.Cipher.DECRYPT_MODE, k, javax.crypto.spec.GCMParameterSpec(128, wrapped, 0, 12))
        try { return cipher.doFinal(wrapped, 12, wrapped.size - 12) }
        catch (e: javax.crypto.AEADBadTagException) { throw DeviceKeyFailure.Rejected() }
    }
    override fun deleteKey() { key = null }
}

fun fixture(path: String): Map<String, String> =
    Regex("\"(\\w+)\": \"?([^\"\\n,]*)\"?").findAll(File(path).readText()).associate { it.groupValues[1] to it.groupValues[2] }

var passed = 0
var failed = 0
@Synchronized fun check(name: String, ok: Boolean) { if (ok) passed++ else { failed++; System.err.println("FAILED: $name") } }
inline fun <reified E : Throwable> throws(name: String, block: () -> Unit, extra: (E) -> Boolean = { true }) {
    try { block(); check("$name (no exception)", false) }
    catch (e: Throwable) { check("$name (${e::class.simpleName})", e is E && extra(e as E)) }
}

fun main(args: Array<String>) = runBlocking {
    val fx = fixture(args[0])
    val dir = File(args[1]).apply { deleteRecursively() }.path
    val clock = FixedClock(fx.getValue("clock_millis").toLong())
    val fast = VaultSettings(kdfMemoryKib = 19456u, kdfIterations = 2u)

    check("no vault yet", !vaultExists(dir))
    throws<DynpinException.WeakPassword>("common password refused", { Authenticator.createWithSettings(dir, "123456", fast, clock) }) { it.problem == PasswordProblem.TOO_COMMON }
    throws<DynpinException.WeakPassword>("short password refused", { Authenticator.createWithSettings(dir, "a1", fast, clock) }) { it.problem == PasswordProblem.TOO_SHORT && it.limit == 6 }
    val auth = Authenticator.createWithSettings(dir, "correct horse", fast, clock)
    check("vault exists", vaultExists(dir))

    val details = auth.inspectActivation(fx.getValue("payload"))
    check("bank name", details.bankName == fx["bank_name"])
    check("last four", details.lastFour == fx["last_four"])
    check("the payload's key-derivation cost", details.kdfMemoryKib == 19456u && details.kdfIterations == 2u && details.expiresAt > details.issuedAt)
    auth.setKdfCeiling(16384u, 16u)
    throws<DynpinException.KdfParametersRejected>("a costlier payload than the phone accepts", { auth.activate(fx.getValue("payload"), fx.getValue("activation_code"), false) }) { it.tooCostly }
    auth.setKdfCeiling(UInt.MAX_VALUE, UInt.MAX_VALUE)
    throws<DynpinException.WrongActivationCode>("wrong activation code", { auth.activate(fx.getValue("payload"), "1234 5678 9012 3457", false) })
    val result = auth.activate(fx.getValue("payload"), fx.getValue("activation_code"), false)
    check("confirmation code", result.confirmationCode == fx["confirmation_code"])
    throws<DynpinException.CardAlreadyPresent>("same card twice", { auth.activate(fx.getValue("payload"), fx.getValue("activation_code"), false) })

    val codes = auth.codes()
    check("one card", codes.size == 1)
    check("first PIN", codes[0].pins[0].kind == PinType.FIRST && codes[0].pins[0].digits == fx["first_pin"])
    check("second PIN", codes[0].pins[1].kind == PinType.SECOND && codes[0].pins[1].digits == fx["second_pin"])
    check("countdown", codes[0].pins[1].secondsRemaining == fx.getValue("seconds_remaining").toLong())
    check("Persian digits", codes[0].pins[1].persian.all { it == ' ' || it in '۰'..'۹' })
    // Shown inside Persian text, read aloud digit by digit, formatted like any number.
    val second = codes[0].pins[1]
    check("isolated for right-to-left text", second.persianIsolated == "\u2066${second.persian}\u2069")
    check("spoken digit by digit in English", second.accessibilityLabelEn.split(' ', ',').count { it.isNotEmpty() } == second.digits.length)
    check("spoken digit by digit in Persian", second.accessibilityLabelFa.startsWith(listOf("صفر", "یک", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "نه")[second.digits[0] - '0']))
    check("a countdown Kotlin formats", "%d s".format(second.secondsRemaining) == "${fx["seconds_remaining"]} s")
    check("the foreign clock is called", clock.calls.get() > 0)

    val token = auth.importOtpauth(fx.getValue("otpauth"))
    check("otpauth token code", auth.pin(token.id, PinType.TOKEN).digits == fx["otpauth_code"])
    throws<DynpinException.InvalidToken>("otpauth crasher", { auth.importOtpauth("otpauth://totp/%2?secret=s") })
    throws<DynpinException.InvalidPayload>("garbage payload", { auth.inspectActivation("DPIN:garbage") })
    throws<DynpinException.UnknownCard>("unknown card", { auth.pin("00", PinType.FIRST) })
    throws<DynpinException.InvalidInput>("empty label", { auth.renameCard(token.id, "   ") }) { it.problem == InputProblem.INVALID_LABEL && it.limit == 64 }
    throws<DynpinException.InvalidOrder>("order without every card", { auth.reorderCards(listOf(token.id)) })
    throws<DynpinException.InvalidSetting>("auto-lock out of range", { auth.setAutoLockSeconds(1u) }) { it.setting == VaultSetting.AUTO_LOCK }
    val backup = auth.exportBackup("backup passphrase 1")
    throws<DynpinException.InvalidBackup>("backup, wrong password", { auth.importBackup(backup, "wrong passphrase 2", false) }) { it.problem == BackupProblem.WRONG_PASSWORD }
    throws<DynpinException.InvalidBackup>("not a backup", { auth.importBackup(byteArrayOf(1, 2, 3), "backup passphrase 1", false) }) { it.problem == BackupProblem.NOT_A_BACKUP }
    check("a backup's cards already present are skipped", auth.importBackup(backup, "backup passphrase 1", false).skipped == listOf(token.id))

    auth.setAmountCeiling(result.card.id, 1_000_000uL)
    throws<DynpinException.AmountAboveCeiling>("ceiling", { auth.amountBoundCode(result.card.id, 2_000_000uL, "6037991234567893") }) { it.ceiling == 1_000_000L }
    check("amount-bound code", auth.amountBoundCode(result.card.id, 500_000uL, "6037991234567893").digits.length == 8)

    val key = ByteArray(32) { 7 }
    // The app keeps only the key as its biometric-bound Keystore key wrapped it.
    val wrapped = "wrapped by the keystore".toByteArray()
    auth.enrolPlatformKey(key, wrapped)
    auth.lock()
    check("locked", auth.isLocked())
    check("the wrapped key is readable while locked", auth.platformKeyBlob()!!.contentEquals(wrapped))
    throws<DynpinException.VaultLocked>("codes while locked", { auth.codes() })
    throws<DynpinException.WrongPassword>("wrong password", { auth.unlockWithPassword("wrong password") }) { it.remainingAttempts == 9 && "%d left".format(it.remainingAttempts) == "9 left" }
    auth.unlockWithPlatformKey(key)
    check("platform key unlocks", !auth.isLocked())
    auth.lock()
    throws<DynpinException.PlatformKeyInvalidated>("new fingerprint enrolled", { auth.unlockWithPlatformKey(ByteArray(32) { 8 }) })
    auth.recordPlatformKeyInvalidated()
    check("invalidation recorded while locked", !auth.hasPlatformKey() && auth.platformKeyBlob() == null)
    throws<DynpinException.PlatformKeyInvalidated>("an invalidated key is refused", { auth.unlockWithPlatformKey(key) })
    auth.close()

    val reopened = Authenticator.open(dir, clock)
    check("reopened locked", reopened.isLocked())
    val passwordBytes = "correct horse".toByteArray()
    reopened.unlockWithPasswordBytes(passwordBytes)
    java.util.Arrays.fill(passwordBytes, 0)
    check("cards survive a restart", reopened.cards().size == 2)
    check("same PIN after restart", reopened.codes()[0].pins[1].digits == fx["second_pin"])

    // Calls from several threads at once are serialised safely.
    val expected = reopened.codes()
    val threads = (1..8).map { Thread { repeat(200) { check("same codes from any thread", reopened.codes() == expected) } } }
    threads.forEach { it.start() }
    threads.forEach { it.join() }

    // A screen refresh of 100 cards, timed (the figure goes to docs/benchmarks.md).
    val refresh = Authenticator.createWithSettings("$dir-100", "correct horse", fast, clock)
    for (i in 0 until 100) refresh.importOtpauth("otpauth://totp/Bank:user$i?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Bank")
    repeat(3000) { refresh.codes() }
    // Every call timed on its own: the median is what a screen refresh
    // typically costs, and a garbage collection or a noisy neighbour on a
    // shared CI machine moves only the tail, which is reported beside it.
    val calls = 5000
    val micros = DoubleArray(calls)
    for (i in 0 until calls) {
        val start = System.nanoTime()
        refresh.codes()
        micros[i] = (System.nanoTime() - start) / 1000.0
    }
    micros.sort()
    val median = micros[calls / 2]
    val verdict = if (median <= 200.0) "target 200 µs met" else "target 200 µs NOT met"
    println(
        "kotlin: codes() for 100 cards: median %.1f µs per refresh (p90 %.1f, p99 %.1f, mean %.1f over %d calls; %s)".format(
            median, micros[calls * 9 / 10], micros[calls * 99 / 100], micros.average(), calls, verdict,
        ),
    )
    // The gate is four times the target: it catches a regression, not a slow
    // or busy machine (medians of 97-398 µs were seen here on one day, the
    // distribution being bimodal on a shared 2-core machine).
    check("100-card refresh: median within 800 µs", median <= 800.0)

    // The UI thread never waits for a key derivation or a save: codes() in a
    // loop while another thread changes the password back and forth (two
    // Argon2id derivations and a re-keyed save per change) and unlocks with
    // it (one derivation, one save). The gate is five times the 5 ms target:
    // it catches a read that waits for Argon2id (tens of milliseconds even at
    // the floor), not a slow machine.
    val changes = 12
    val worker = Thread {
        runBlocking {
            for (i in 0 until changes) {
                val (from, to) = if (i % 2 == 0) "correct horse" to "another horse 2" else "another horse 2" to "correct horse"
                refresh.changePassword(from, to)
                refresh.unlockWithPassword(to)
            }
        }
    }
    val waits = ArrayList<Double>()
    worker.start()
    while (worker.isAlive) {
        val start = System.nanoTime()
        refresh.codes()
        refresh.lockoutStatus()
        waits.add((System.nanoTime() - start) / 1e6)
    }
    worker.join()
    waits.sort()
    val p99 = waits[waits.size * 99 / 100]
    println(
        "kotlin: codes() for 100 cards while the password changes and unlocks %d times: median %.2f ms, p99 %.2f ms, max %.2f ms over %d calls (target p99 5 ms)".format(
            changes, waits[waits.size / 2], p99, waits.last(), waits.size,
        ),
    )
    check("codes() p99 within 25 ms while the password changes", p99 <= 25.0 && waits.size >= 100)
    // The app's lifecycle: reading keeps the vault unlocked; the background locks it after the grace.
    check("background grace, default", refresh.backgroundLockSeconds() == 60u)
    repeat(3) { clock.now.addAndGet(110_000); refresh.codes() }
    check("reading codes keeps the vault unlocked past the idle time", !refresh.isLocked())
    refresh.appEnteredBackground()
    clock.now.addAndGet(59_000)
    check("back within the grace", !refresh.appEnteringForeground())
    refresh.touch()
    refresh.appEnteredBackground()
    clock.now.addAndGet(60_000)
    check("back after the grace: locked", refresh.appEnteringForeground() && refresh.isLocked())
    throws<DynpinException.VaultLocked>("touch while locked", { refresh.touch() })
    throws<DynpinException.InvalidSetting>("a grace over a day", { refresh.setBackgroundLockSeconds(86_401u) }) { it.setting == VaultSetting.BACKGROUND_LOCK }
    // A bank-provided time: the phone is 10 minutes behind; one app-wide offset corrects every code.
    val skew = refresh.checkClock(clock.now.get() / 1000 + 600)
    check("clock skew detected", skew.isOff && skew.phoneAheadSeconds == -600L && skew.suggestedOffsetSeconds == 600L)
    refresh.setAppTimeOffset(skew.suggestedOffsetSeconds)
    check("app-wide offset kept", refresh.appTimeOffset() == 600L)
    throws<DynpinException.InvalidInput>("an offset beyond a year", { refresh.setAppTimeOffset(400L * 86_400) }) { it.problem == InputProblem.TIME_OFFSET_OUT_OF_RANGE }
    refresh.wipe()
    throws<DynpinException.VaultWiped>("codes after a wipe", { refresh.codes() })
    refresh.close()
    File("$dir-100").deleteRecursively()
    File(dir).deleteRecursively()

    // A vault bound to the device's key store: useless without it.
    val phone = SoftwareKeyStore()
    val boundDir = "$dir-bound"
    File(boundDir).deleteRecursively()
    Authenticator.createBound(boundDir, "correct horse".toByteArray(), fast, clock, phone).close()
    val bound = Authenticator.open(boundDir, clock)
    check("bound to the device", bound.isDeviceBound())
    throws<DynpinException.DeviceKey>("no device key given", { bound.unlockWithPassword("correct horse") }) { it.problem == DeviceKeyProblem.MISSING }
    bound.setDeviceKey(SoftwareKeyStore())
    throws<DynpinException.DeviceKey>("another phone's key store", { bound.unlockWithPassword("correct horse") }) { it.problem == DeviceKeyProblem.REJECTED }
    bound.setDeviceKey(phone)
    bound.unlockWithPassword("correct horse")
    check("unlocked with the password on its device", !bound.isLocked())
    // The hardware key invalidated (the screen lock was removed): not a wrong password, nothing counted.
    bound.lock()
    val kept = phone.key
    phone.key = null
    throws<DynpinException.DeviceKey>("an invalidated device key", { bound.unlockWithPassword("correct horse") }) { it.problem == DeviceKeyProblem.UNAVAILABLE }
    check("an unavailable device key is not counted", bound.lockoutStatus().failures == 0)
    phone.key = kept
    bound.unlockWithPassword("correct horse")
    bound.wipe()
    check("a wipe deletes the device key", phone.key == null)
    bound.close()
    // A vault that cannot be opened can still be removed.
    Authenticator.createWithSettings(boundDir, "correct horse", fast, clock).close()
    File("$boundDir/vault.bin").writeBytes("damaged".toByteArray())
    throws<DynpinException.VaultCorrupt>("a damaged vault does not open", { Authenticator.open(boundDir, clock) })
    destroyVault(boundDir)
    check("destroyVault removes it without opening", !vaultExists(boundDir))
    File(boundDir).deleteRecursively()

    println("kotlin: $passed passed, $failed failed")
    if (failed > 0) kotlin.system.exitProcess(1)
}
