//! The activation confirmation at the bank: once, before expiry, with an
//! attempt limit; PINs only after it; a second confirmation suspends the card.

use dynpin::activation::{self, ActivationCode};
use dynpin::card::{CardNumber, CardRef};
use dynpin::clock::{FixedClock, ManualClock};
use dynpin::kdf::KdfParams;
use dynpin::pin::PinKind;
use dynpin_bank::verifier::{OperatorAuthorization, Verifier, VerifierConfig, VerifyError};
use dynpin_bank::{CardRequest, Issuer, ProvisionedCard};

const NOW: i64 = 1_800_000_000;

fn provision() -> ProvisionedCard {
    let card_ref = CardRef::of(&CardNumber::parse("6104 3371 2345 6780").unwrap());
    Issuer::new()
        .with_kdf(KdfParams::MINIMUM)
        .unwrap()
        .provision(
            &CardRequest::new(card_ref),
            &FixedClock::from_unix_seconds(NOW),
        )
        .unwrap()
}

/// The code the customer's app shows after activating.
fn confirmation(issued: &ProvisionedCard) -> String {
    activation::confirmation_code(issued.master_seed(), issued.activation_id())
        .unwrap()
        .to_string()
}

fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

fn second_pin(issued: &ProvisionedCard, clock: &ManualClock) -> String {
    issued
        .card()
        .unwrap()
        .pin(PinKind::Second, clock)
        .unwrap()
        .digits()
}

fn setup() -> (ProvisionedCard, Verifier, dynpin::card::CardId, ManualClock) {
    let issued = provision();
    let verifier = Verifier::new(VerifierConfig::default()).unwrap();
    let id = verifier.enroll(&issued).unwrap();
    (
        issued,
        verifier,
        id,
        ManualClock::from_unix_seconds(NOW + 30),
    )
}

#[test]
fn pins_are_refused_until_the_activation_is_confirmed() {
    let (issued, v, id, clock) = setup();
    // The real activation on a phone gives the code the bank expects.
    let typed = ActivationCode::parse(issued.activation_code().digits()).unwrap();
    let activated = activation::activate(issued.payload(), &typed, &clock).unwrap();
    assert_eq!(activated.confirmation_code, confirmation(&issued));
    assert_eq!(
        v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock),
        Err(VerifyError::NotConfirmed)
    );
    v.confirm(id, &activated.confirmation_code, &clock).unwrap();
    clock.advance_seconds(60);
    v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock)
        .unwrap();
}

#[test]
fn a_confirmation_expires() {
    let (issued, v, id, clock) = setup();
    let limit = VerifierConfig::default().confirmation_seconds as i64;
    clock.set_millis((NOW + limit) * 1000);
    assert_eq!(
        v.confirm(id, &confirmation(&issued), &clock),
        Err(VerifyError::ConfirmationExpired)
    );
    assert_eq!(
        v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock),
        Err(VerifyError::NotConfirmed)
    );
    // One second earlier it would have been accepted.
    let (issued, v, id, clock) = setup();
    clock.set_millis((NOW + limit - 1) * 1000);
    v.confirm(id, &confirmation(&issued), &clock).unwrap();
}

#[test]
fn confirmation_attempts_are_limited() {
    let (issued, v, id, clock) = setup();
    let right = confirmation(&issued);
    for remaining_attempts in (1..5).rev() {
        assert_eq!(
            v.confirm(id, &wrong(&right), &clock),
            Err(VerifyError::WrongConfirmation { remaining_attempts })
        );
    }
    // A typing slip is not counted.
    assert!(matches!(
        v.confirm(id, "12", &clock),
        Err(VerifyError::Malformed(_))
    ));
    assert_eq!(
        v.confirm(id, &wrong(&right), &clock),
        Err(VerifyError::Locked)
    );
    assert_eq!(v.confirm(id, &right, &clock), Err(VerifyError::Locked));
    assert_eq!(
        v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock),
        Err(VerifyError::NotConfirmed)
    );
}

/// Exactly one confirmation is accepted; a second correct one means someone
/// else activated the same payload: the card is suspended until an operator acts.
#[test]
fn a_second_confirmation_suspends_the_card_as_a_possible_clone() {
    let (issued, v, id, clock) = setup();
    let right = confirmation(&issued);
    v.confirm(id, &right, &clock).unwrap();
    v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock)
        .unwrap();
    clock.advance_seconds(60);
    assert_eq!(
        v.confirm(id, &right, &clock),
        Err(VerifyError::CloneSuspected)
    );
    assert_eq!(
        v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock),
        Err(VerifyError::Suspended)
    );
    assert_eq!(v.confirm(id, &right, &clock), Err(VerifyError::Suspended));
    // Re-registering the card does not lift the suspension; an operator does.
    let id = v.enroll(&issued).unwrap();
    assert_eq!(
        v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock),
        Err(VerifyError::Suspended)
    );
    let operator =
        OperatorAuthorization::new("operator-7", "clone checked with the customer").unwrap();
    v.operator_lift_suspension(&operator, id).unwrap();
    v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock)
        .unwrap();
}
