"""The app lifecycle through the generated Python bindings.
Run by scripts/test-bindings with the generated module and libdynpin_ffi.so on sys.path;
prints "python: N passed, 0 failed"."""
import asyncio
import json
import os
import shutil
import sys

import nacl.exceptions
import nacl.secret
import nacl.utils

import dynpin

passed = failed = 0


def run(call):
    """Waits for one of the slow calls. They are coroutines (`async def`) whose
    work runs on a thread of dynpin's own: an asyncio app awaits them and its
    event loop keeps running (checked below); a script waits like this."""
    return asyncio.run(call)


def check(name, ok):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAILED: {name}", file=sys.stderr)


def raises(name, exc, fn, extra=lambda e: True):
    try:
        fn()
        check(f"{name} (no exception)", False)
    except exc as e:
        check(name, extra(e))
    except Exception as e:  # noqa: BLE001 - report the wrong exception type
        check(f"{name} ({type(e).__name__})", False)


class FixedClock(dynpin.MobileClock):
    def __init__(self, millis):
        self.millis, self.calls = millis, 0

    def now_millis(self):
        self.calls += 1
        return self.millis


class SoftwareKeyStore(dynpin.DeviceKeyStore):
    """A software stand-in for a hardware key store: XSalsa20-Poly1305
    (PyNaCl's SecretBox) under a key held in memory."""

    def __init__(self):
        self.key = nacl.utils.random(32)

    def wrap(self, secret):
        if self.key is None:
            raise dynpin.DeviceKeyFailure.Unavailable()
        return bytes(nacl.secret.SecretBox(self.key).encrypt(secret))

    def unwrap(self, wrapped):
        if self.key is None:
            raise dynpin.DeviceKeyFailure.Unavailable()
        try:
            return nacl.secret.SecretBox(self.key).decrypt(wrapped)
        except nacl.exceptions.CryptoError:
            raise dynpin.DeviceKeyFailure.Rejected() from None

    def delete_key(self):
        self.key = None


def main(fixture_path, directory):
    fx = json.load(open(fixture_path, encoding="utf-8"))
    shutil.rmtree(directory, ignore_errors=True)
    clock = FixedClock(fx["clock_millis"])
    fast = dynpin.VaultSettings(kdf_memory_kib=19456, kdf_iterations=2)

    check("no vault yet", not dynpin.vault_exists(directory))
    raises("common password refused", dynpin.DynpinError.WeakPassword,
           lambda: run(dynpin.Authenticator.create_with_settings(directory, "123456", fast, clock)),
           lambda e: e.problem == dynpin.PasswordProblem.TOO_COMMON)
    raises("short password refused", dynpin.DynpinError.WeakPassword,
           lambda: run(dynpin.Authenticator.create_with_settings(directory, "a1", fast, clock)),
           lambda e: e.problem == dynpin.PasswordProblem.TOO_SHORT and e.limit == 6)
    auth = run(dynpin.Authenticator.create_with_settings(directory, "correct horse", fast, clock))

    details = auth.inspect_activation(fx["payload"])
    check("bank and last four", details.bank_name == fx["bank_name"] and details.last_four == fx["last_four"])
    check("the payload's key-derivation cost", (details.kdf_memory_kib, details.kdf_iterations) == (19456, 2))
    auth.set_kdf_ceiling(16384, 16)
    raises("a costlier payload than the phone accepts", dynpin.DynpinError.KdfParametersRejected,
           lambda: run(auth.activate(fx["payload"], fx["activation_code"], False)), lambda e: e.too_costly)
    auth.set_kdf_ceiling(2**32 - 1, 2**32 - 1)
    raises("wrong activation code", dynpin.DynpinError.WrongActivationCode,
           lambda: run(auth.activate(fx["payload"], "1234 5678 9012 3457", False)))
    result = run(auth.activate(fx["payload"], fx["activation_code"], False))
    check("confirmation code", result.confirmation_code == fx["confirmation_code"])
    raises("same card twice", dynpin.DynpinError.CardAlreadyPresent,
           lambda: run(auth.activate(fx["payload"], fx["activation_code"], False)))

    pins = auth.codes()[0].pins
    check("first PIN", pins[0].kind == dynpin.PinType.FIRST and pins[0].digits == fx["first_pin"])
    check("second PIN", pins[1].kind == dynpin.PinType.SECOND and pins[1].digits == fx["second_pin"])
    check("countdown", pins[1].seconds_remaining == fx["seconds_remaining"])
    check("the foreign clock is called", clock.calls > 0)
    second = pins[1]
    check("isolated for right-to-left text", second.persian_isolated == f"\u2066{second.persian}\u2069")
    check("spoken digit by digit in English",
          second.accessibility_label_en.replace(",", "").split() ==
          [["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"][int(d)]
           for d in second.digits])
    check("spoken digit by digit in Persian", len(second.accessibility_label_fa.replace("،", "").split()) == 8)

    # The event loop runs while a slow call derives its key on dynpin's thread.
    async def codes_while_the_password_changes():
        ticks = 0

        async def screen():
            nonlocal ticks
            while True:
                auth.codes()
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(screen())
        await auth.change_password("correct horse", "another horse 2")
        await auth.change_password("another horse 2", "correct horse")
        task.cancel()
        return ticks
    check("the event loop is not blocked by a password change", run(codes_while_the_password_changes()) > 10)

    # A bank-provided time says the phone is ten minutes behind: one app-wide offset.
    skew = auth.check_clock(clock.millis // 1000 + 600)
    check("clock skew", skew.is_off and skew.phone_ahead_seconds == -600 and skew.suggested_offset_seconds == 600)
    auth.set_app_time_offset(skew.suggested_offset_seconds)
    check("every code moves with the app-wide offset", auth.codes()[0].pins[1].digits != fx["second_pin"])
    auth.set_app_time_offset(0)
    check("and back", auth.codes()[0].pins[1].digits == fx["second_pin"])

    token = auth.import_otpauth(fx["otpauth"])
    check("otpauth token code", auth.pin(token.id, dynpin.PinType.TOKEN).digits == fx["otpauth_code"])
    raises("otpauth crasher", dynpin.DynpinError.InvalidToken, lambda: auth.import_otpauth("otpauth://totp/%2?secret=s"))
    raises("garbage payload", dynpin.DynpinError.InvalidPayload, lambda: auth.inspect_activation("DPIN:garbage"))
    raises("empty label", dynpin.DynpinError.InvalidInput, lambda: auth.rename_card(token.id, "   "),
           lambda e: e.problem == dynpin.InputProblem.INVALID_LABEL and e.limit == 64)
    raises("order without every card", dynpin.DynpinError.InvalidOrder, lambda: auth.reorder_cards([token.id]))
    raises("auto-lock out of range", dynpin.DynpinError.InvalidSetting, lambda: auth.set_auto_lock_seconds(1),
           lambda e: e.setting == dynpin.VaultSetting.AUTO_LOCK)

    # The app's lifecycle: the background locks the vault after the grace.
    auth.app_entered_background()
    clock.millis += 59_000
    check("back within the grace", not auth.app_entering_foreground())
    auth.touch()
    auth.app_entered_background()
    clock.millis += 60_000
    check("back after the grace: locked", auth.app_entering_foreground() and auth.is_locked())
    raises("codes while locked", dynpin.DynpinError.VaultLocked, auth.codes)
    clock.millis -= 119_000
    run(auth.unlock_with_password("correct horse"))
    backup = run(auth.export_backup("backup passphrase 1"))
    raises("backup, wrong password", dynpin.DynpinError.InvalidBackup,
           lambda: run(auth.import_backup(backup, "wrong passphrase 2", False)),
           lambda e: e.problem == dynpin.BackupProblem.WRONG_PASSWORD)
    raises("not a backup", dynpin.DynpinError.InvalidBackup,
           lambda: run(auth.import_backup(bytes([1, 2, 3]), "backup passphrase 1", False)),
           lambda e: e.problem == dynpin.BackupProblem.NOT_A_BACKUP)
    check("a backup's cards already present are skipped",
          run(auth.import_backup(backup, "backup passphrase 1", False)).skipped == [token.id])

    key = bytes([7] * 32)
    # The app keeps only the key as its biometric-bound hardware key wrapped it.
    auth.enrol_platform_key(key, b"wrapped by the keystore")
    auth.lock()
    check("locked", auth.is_locked())
    check("the wrapped key is readable while locked",
          auth.platform_key_blob() == b"wrapped by the keystore")
    raises("codes while locked", dynpin.DynpinError.VaultLocked, auth.codes)
    raises("wrong password", dynpin.DynpinError.WrongPassword, lambda: run(auth.unlock_with_password("wrong password")),
           lambda e: e.remaining_attempts == 9)
    auth.unlock_with_platform_key(key)
    check("platform key unlocks", not auth.is_locked())
    auth.lock()
    raises("new fingerprint enrolled", dynpin.DynpinError.PlatformKeyInvalidated,
           lambda: auth.unlock_with_platform_key(bytes([8] * 32)))
    auth.record_platform_key_invalidated()
    check("invalidation recorded while locked",
          not auth.has_platform_key() and auth.platform_key_blob() is None)
    raises("an invalidated key is refused", dynpin.DynpinError.PlatformKeyInvalidated,
           lambda: auth.unlock_with_platform_key(key))
    del auth

    reopened = dynpin.Authenticator.open(directory, clock)
    check("reopened locked", reopened.is_locked())
    run(reopened.unlock_with_password_bytes(b"correct horse"))
    check("cards survive a restart", len(reopened.cards()) == 2)
    check("same PIN after restart", reopened.codes()[0].pins[1].digits == fx["second_pin"])
    shutil.rmtree(directory, ignore_errors=True)

    # A vault bound to the device's key store: useless without it.
    phone = SoftwareKeyStore()
    bound_dir = directory + "-bound"
    shutil.rmtree(bound_dir, ignore_errors=True)
    run(dynpin.Authenticator.create_bound(bound_dir, b"correct horse", fast, clock, phone))
    bound = dynpin.Authenticator.open(bound_dir, clock)
    check("bound to the device", bound.is_device_bound())
    raises("no device key given", dynpin.DynpinError.DeviceKey,
           lambda: run(bound.unlock_with_password("correct horse")),
           lambda e: e.problem == dynpin.DeviceKeyProblem.MISSING)
    bound.set_device_key(SoftwareKeyStore())
    raises("another phone's key store", dynpin.DynpinError.DeviceKey,
           lambda: run(bound.unlock_with_password("correct horse")),
           lambda e: e.problem == dynpin.DeviceKeyProblem.REJECTED)
    bound.set_device_key(phone)
    run(bound.unlock_with_password("correct horse"))
    check("unlocked with the password on its device", not bound.is_locked())
    # The hardware key invalidated (the screen lock was removed): not a wrong password, nothing counted.
    bound.lock()
    kept, phone.key = phone.key, None
    raises("an invalidated device key", dynpin.DynpinError.DeviceKey,
           lambda: run(bound.unlock_with_password("correct horse")),
           lambda e: e.problem == dynpin.DeviceKeyProblem.UNAVAILABLE)
    check("an unavailable device key is not counted", bound.lockout_status().failures == 0)
    phone.key = kept
    run(bound.unlock_with_password("correct horse"))
    run(bound.wipe())
    check("a wipe deletes the device key", phone.key is None)
    del bound
    # A vault that cannot be opened can still be removed.
    run(dynpin.Authenticator.create_with_settings(bound_dir, "correct horse", fast, clock))
    with open(os.path.join(bound_dir, "vault.bin"), "wb") as f:
        f.write(b"damaged")
    raises("a damaged vault does not open", dynpin.DynpinError.VaultCorrupt,
           lambda: dynpin.Authenticator.open(bound_dir, clock))
    dynpin.destroy_vault(bound_dir)
    check("destroy_vault removes it without opening", not dynpin.vault_exists(bound_dir))
    shutil.rmtree(bound_dir, ignore_errors=True)

    print(f"python: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
