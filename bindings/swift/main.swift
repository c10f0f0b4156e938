// The app lifecycle through the generated Swift bindings (Linux, Swift 6).
// Run by scripts/test-bindings; prints "swift: N passed, 0 failed".
// The slow calls are `async` (their work runs on a thread of dynpin's own): awaited
// here from top-level code, as an app awaits them in a Task.
import Foundation

final class FixedClock: MobileClock, @unchecked Sendable {
    private var millis: Int64
    private(set) var calls = 0
    private let lock = NSLock()
    init(millis: Int64) { self.millis = millis }
    func nowMillis() -> Int64 { lock.lock(); defer { lock.unlock() }; calls += 1; return millis }
    func advance(seconds: Int64) { lock.lock(); millis += seconds * 1000; lock.unlock() }
}

// A software stand-in for the Secure Enclave key of bindings/README.md (no
// crypto library on Linux's Swift: a one-time pad under a key held in memory,
// with the key's first bytes as a tag so another store's blob is refused).
final class SoftwareKeyStore: DeviceKeyStore, @unchecked Sendable {
    private let lock = NSLock()
    private var key: [UInt8]? = (0..<40).map { _ in UInt8.random(in: 0...255) }
    private var invalidated = false
    var destroyed: Bool { lock.lock(); defer { lock.unlock() }; return key == nil }
    /// As when the screen lock is removed: the key cannot be used (until restored here).
    func setInvalidated(_ value: Bool) { lock.lock(); invalidated = value; lock.unlock() }
    private func current() throws -> [UInt8] {
        lock.lock(); defer { lock.unlock() }
        guard let k = key, !invalidated else { throw DeviceKeyFailure.Unavailable }
        return k
    }
    func wrap(secret: Data) throws -> Data {
        let k = try current()
        return Data(k.prefix(8)) + Data(zip(secret, k.dropFirst(8)).map { $0 ^ $1 })
    }
    func unwrap(wrapped: Data) throws -> Data {
        let k = try current()
        guard wrapped.count == 40, Data(k.prefix(8)) == wrapped.prefix(8) else { throw DeviceKeyFailure.Rejected }
        return Data(zip(wrapped.dropFirst(8), k.dropFirst(8)).map { $0 ^ $1 })
    }
    func deleteKey() throws { lock.lock(); key = nil; lock.unlock() }
}

nonisolated(unsafe) var passed = 0
nonisolated(unsafe) var failed = 0
func check(_ name: String, _ ok: Bool) {
    if ok { passed += 1 } else { failed += 1; FileHandle.standardError.write("FAILED: \(name)\n".data(using: .utf8)!) }
}
func throwsError(_ name: String, _ matches: (DynpinError) -> Bool, _ body: () async throws -> Void) async {
    do { try await body(); check("\(name) (no error)", false) }
    catch let e as DynpinError { check("\(name) (\(e))", matches(e)) }
    catch { check("\(name) (\(error))", false) }
}

let args = CommandLine.arguments
let fx = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: args[1]))) as! [String: Any]
func s(_ k: String) -> String { fx[k] as! String }
let dir = args[2]
try? FileManager.default.removeItem(atPath: dir)
let clock = FixedClock(millis: (fx["clock_millis"] as! NSNumber).int64Value)
let fast = VaultSettings(kdfMemoryKib: 19456, kdfIterations: 2)

do {
    check("no vault yet", try !vaultExists(directory: dir))
    await throwsError("common password refused", { if case .WeakPassword(.tooCommon, _, _) = $0 { true } else { false } }) {
        _ = try await Authenticator.createWithSettings(directory: dir, password: "123456", settings: fast, clock: clock)
    }
    await throwsError("short password refused", { if case .WeakPassword(.tooShort, 6, _) = $0 { true } else { false } }) {
        _ = try await Authenticator.createWithSettings(directory: dir, password: "a1", settings: fast, clock: clock)
    }
    var auth: Authenticator? = try await Authenticator.createWithSettings(directory: dir, password: "correct horse", settings: fast, clock: clock)
    let details = try auth!.inspectActivation(payload: s("payload"))
    check("bank and last four", details.bankName == s("bank_name") && details.lastFour == s("last_four"))
    check("the payload's key-derivation cost", details.kdfMemoryKib == 19456 && details.kdfIterations == 2)
    auth!.setKdfCeiling(memoryKib: 16384, iterations: 16)
    await throwsError("a costlier payload than the phone accepts", { if case .KdfParametersRejected(true, _) = $0 { true } else { false } }) {
        _ = try await auth!.activate(payload: s("payload"), activationCode: s("activation_code"), replaceExisting: false)
    }
    auth!.setKdfCeiling(memoryKib: UInt32.max, iterations: UInt32.max)
    await throwsError("wrong activation code", { $0 == .WrongActivationCode }) {
        _ = try await auth!.activate(payload: s("payload"), activationCode: "1234 5678 9012 3457", replaceExisting: false)
    }
    let result = try await auth!.activate(payload: s("payload"), activationCode: s("activation_code"), replaceExisting: false)
    check("confirmation code", result.confirmationCode == s("confirmation_code"))

    let pins = try auth!.codes()[0].pins
    check("first PIN", pins[0].kind == .first && pins[0].digits == s("first_pin"))
    check("second PIN", pins[1].kind == .second && pins[1].digits == s("second_pin"))
    check("countdown", pins[1].secondsRemaining == Int64(truncating: fx["seconds_remaining"] as! NSNumber))
    check("the foreign clock is called", clock.calls > 0)
    // Shown inside Persian text; read aloud digit by digit.
    check("isolated for right-to-left text", pins[1].persianIsolated == "\u{2066}\(pins[1].persian)\u{2069}")
    let english = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    check("spoken digit by digit in English",
          pins[1].accessibilityLabelEn.replacingOccurrences(of: ",", with: "").split(separator: " ").map(String.init)
              == pins[1].digits.map { english[Int(String($0))!] })
    check("spoken digit by digit in Persian", pins[1].accessibilityLabelFa.hasPrefix(
        ["صفر", "یک", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "نه"][Int(String(pins[1].digits.first!))!]))

    // A task showing codes keeps running while another changes the password.
    let shown = auth!
    let screen = Task.detached { () -> Int in
        var refreshes = 0
        while !Task.isCancelled { _ = try? shown.codes(); refreshes += 1; await Task.yield() }
        return refreshes
    }
    try await auth!.changePassword(current: "correct horse", newPassword: "another horse 2")
    try await auth!.changePassword(current: "another horse 2", newPassword: "correct horse")
    screen.cancel()
    check("codes refresh while the password changes", await screen.value > 10)

    // A bank-provided time: the phone is ten minutes behind; one app-wide offset corrects the codes.
    let skew = auth!.checkClock(bankUnixSeconds: (fx["clock_millis"] as! NSNumber).int64Value / 1000 + 600)
    check("clock skew", skew.isOff && skew.phoneAheadSeconds == -600 && skew.suggestedOffsetSeconds == 600)
    try auth!.setAppTimeOffset(seconds: skew.suggestedOffsetSeconds)
    check("the offset moves the codes", try auth!.codes()[0].pins[1].digits != s("second_pin"))
    try auth!.setAppTimeOffset(seconds: 0)

    let token = try auth!.importOtpauth(uri: s("otpauth"))
    check("otpauth token code", try auth!.pin(cardId: token.id, kind: .token).digits == s("otpauth_code"))
    await throwsError("otpauth crasher", { if case .InvalidToken = $0 { true } else { false } }) {
        _ = try auth!.importOtpauth(uri: "otpauth://totp/%2?secret=s")
    }
    await throwsError("garbage payload", { if case .InvalidPayload = $0 { true } else { false } }) {
        _ = try auth!.inspectActivation(payload: "DPIN:garbage")
    }
    await throwsError("empty label", { if case .InvalidInput(.invalidLabel, 64, _) = $0 { true } else { false } }) {
        try auth!.renameCard(cardId: token.id, label: "   ")
    }
    await throwsError("order without every card", { $0 == .InvalidOrder }) { try auth!.reorderCards(cardIds: [token.id]) }
    await throwsError("auto-lock out of range", { if case .InvalidSetting(.autoLock) = $0 { true } else { false } }) {
        try auth!.setAutoLockSeconds(seconds: 1)
    }
    // The app's lifecycle: the background locks the vault after the grace.
    auth!.appEnteredBackground()
    clock.advance(seconds: 59)
    check("back within the grace", !auth!.appEnteringForeground())
    try auth!.touch()
    auth!.appEnteredBackground()
    clock.advance(seconds: 60)
    check("back after the grace: locked", auth!.appEnteringForeground() && auth!.isLocked())
    clock.advance(seconds: -119)
    try await auth!.unlockWithPassword(password: "correct horse")
    let backup = try await auth!.exportBackup(password: "backup passphrase 1")
    await throwsError("backup, wrong password", { if case .InvalidBackup(.wrongPassword, _) = $0 { true } else { false } }) {
        _ = try await auth!.importBackup(backup: backup, password: "wrong passphrase 2", replaceExisting: false)
    }
    await throwsError("not a backup", { if case .InvalidBackup(.notABackup, _) = $0 { true } else { false } }) {
        _ = try await auth!.importBackup(backup: Data([1, 2, 3]), password: "backup passphrase 1", replaceExisting: false)
    }
    check("a backup's cards already present are skipped",
          try await auth!.importBackup(backup: backup, password: "backup passphrase 1", replaceExisting: false).skipped == [token.id])

    let key = Data(repeating: 7, count: 32)
    // The app keeps only the key as its Secure Enclave key wrapped it.
    let wrapped = Data("wrapped by the secure enclave".utf8)
    try auth!.enrolPlatformKey(key: key, wrappedKey: wrapped)
    auth!.lock()
    check("locked", auth!.isLocked())
    check("the wrapped key is readable while locked", try auth!.platformKeyBlob() == wrapped)
    await throwsError("codes while locked", { $0 == .VaultLocked }) { _ = try auth!.codes() }
    await throwsError("wrong password", { if case .WrongPassword(let remaining, _) = $0 { remaining == 9 } else { false } }) {
        try await auth!.unlockWithPassword(password: "wrong password")
    }
    try auth!.unlockWithPlatformKey(key: key)
    check("platform key unlocks", !auth!.isLocked())
    auth!.lock()
    await throwsError("new fingerprint enrolled", { $0 == .PlatformKeyInvalidated }) {
        try auth!.unlockWithPlatformKey(key: Data(repeating: 8, count: 32))
    }
    try auth!.recordPlatformKeyInvalidated()
    check("invalidation recorded while locked", try !auth!.hasPlatformKey() && auth!.platformKeyBlob() == nil)
    await throwsError("an invalidated key is refused", { $0 == .PlatformKeyInvalidated }) {
        try auth!.unlockWithPlatformKey(key: key)
    }
    auth = nil

    let reopened = try Authenticator.open(directory: dir, clock: clock)
    check("reopened locked", reopened.isLocked())
    try await reopened.unlockWithPasswordBytes(password: Data("correct horse".utf8))
    check("cards survive a restart", try reopened.cards().count == 2)
    check("same PIN after restart", try reopened.codes()[0].pins[1].digits == s("second_pin"))

    // A vault bound to the device's key store: useless without it.
    let phone = SoftwareKeyStore()
    let boundDir = dir + "-bound"
    try? FileManager.default.removeItem(atPath: boundDir)
    _ = try await Authenticator.createBound(directory: boundDir, password: Data("correct horse".utf8), settings: fast, clock: clock, deviceKey: phone)
    let bound = try Authenticator.open(directory: boundDir, clock: clock)
    check("bound to the device", try bound.isDeviceBound())
    await throwsError("no device key given", { if case .DeviceKey(.missing, _) = $0 { true } else { false } }) {
        try await bound.unlockWithPassword(password: "correct horse")
    }
    bound.setDeviceKey(deviceKey: SoftwareKeyStore())
    await throwsError("another phone's key store", { if case .DeviceKey(.rejected, _) = $0 { true } else { false } }) {
        try await bound.unlockWithPassword(password: "correct horse")
    }
    bound.setDeviceKey(deviceKey: phone)
    try await bound.unlockWithPassword(password: "correct horse")
    check("unlocked with the password on its device", !bound.isLocked())
    // The hardware key invalidated: not a wrong password, nothing counted.
    bound.lock()
    phone.setInvalidated(true)
    await throwsError("an invalidated device key", { if case .DeviceKey(.unavailable, _) = $0 { true } else { false } }) {
        try await bound.unlockWithPassword(password: "correct horse")
    }
    check("an unavailable device key is not counted", try bound.lockoutStatus().failures == 0)
    phone.setInvalidated(false)
    try await bound.unlockWithPassword(password: "correct horse")
    try await bound.wipe()
    check("a wipe deletes the device key", phone.destroyed)
    // A vault that cannot be opened can still be removed.
    _ = try await Authenticator.createWithSettings(directory: boundDir, password: "correct horse", settings: fast, clock: clock)
    try Data("damaged".utf8).write(to: URL(fileURLWithPath: boundDir + "/vault.bin"))
    await throwsError("a damaged vault does not open", { if case .VaultCorrupt = $0 { true } else { false } }) {
        _ = try Authenticator.open(directory: boundDir, clock: clock)
    }
    try destroyVault(directory: boundDir)
    check("destroyVault removes it without opening", try !vaultExists(directory: boundDir))
    try? FileManager.default.removeItem(atPath: boundDir)
} catch {
    check("unexpected error: \(error)", false)
}
try? FileManager.default.removeItem(atPath: dir)
print("swift: \(passed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)
