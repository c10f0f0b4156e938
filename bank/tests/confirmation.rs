//! The activation confirmation at the bank: once, before expiry, with an
//! attempt limit; PINs only after it; a second confirmation suspends the card,
//! a retry of the confirming request does not.

use std::sync::Arc;

use dynpin::activation::{self, ActivationCode};
use dynpin::card::{CardId, CardNumber, CardRef};
use dynpin::clock::{FixedClock, ManualClock};
use dynpin::kdf::KdfParams;
use dynpin::pin::PinKind;
use dynpin_bank::store::memory::MemoryStore;
use dynpin_bank::store::{CardStatus, Store};
use dynpin_bank::verifier::{
    ConfirmRequest, OperatorAuthorization, Verifier, VerifierConfig, VerifyError,
};
use dynpin_bank::{CardRequest, Issuer, ProvisionedCard};
use sha2::{Digest, Sha256};

use crate::support::{TestStore, instance, verifier};

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

async fn setup() -> (ProvisionedCard, Verifier<MemoryStore>, CardId, ManualClock) {
    let issued = provision();
    let verifier = verifier(VerifierConfig::default());
    let id = verifier.enroll(&issued, None).await.unwrap();
    (
        issued,
        verifier,
        id,
        ManualClock::from_unix_seconds(NOW + 30),
    )
}

async fn status<S: Store>(v: &Verifier<S>, id: CardId) -> CardStatus {
    v.store().state(id).await.unwrap().unwrap().status
}

#[tokio::test]
async fn pins_are_refused_until_the_activation_is_confirmed() {
    let (issued, v, id, clock) = setup().await;
    assert_eq!(id, issued.card_id());
    assert_eq!(status(&v, id).await, CardStatus::Pending);
    // The real activation on a phone gives the code the bank expects.
    let typed = ActivationCode::parse(issued.activation_code().digits()).unwrap();
    let activated = activation::activate(issued.payload(), &typed, &clock).unwrap();
    assert_eq!(activated.confirmation_code, confirmation(&issued));
    assert_eq!(
        v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock)
            .await,
        Err(VerifyError::NotConfirmed)
    );
    assert_eq!(
        v.store().state(id).await.unwrap().unwrap().attempts,
        0,
        "a refused PIN of a pending card is not counted"
    );
    v.confirm(id, &activated.confirmation_code, &clock)
        .await
        .unwrap();
    assert_eq!(status(&v, id).await, CardStatus::Active);
    clock.advance_seconds(60);
    v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock)
        .await
        .unwrap();
    let trail = v.store().audit_trail(id, 10).await.unwrap();
    assert_eq!(
        trail.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        ["confirmed"]
    );
}

#[tokio::test]
async fn a_confirmation_expires() {
    let (issued, v, id, clock) = setup().await;
    let limit = VerifierConfig::default().confirmation_seconds as i64;
    clock.set_millis((NOW + limit) * 1000);
    assert_eq!(
        v.confirm(id, &confirmation(&issued), &clock).await,
        Err(VerifyError::ConfirmationExpired)
    );
    assert_eq!(
        v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock)
            .await,
        Err(VerifyError::NotConfirmed)
    );
    // One second earlier it would have been accepted.
    let (issued, v, id, clock) = setup().await;
    clock.set_millis((NOW + limit - 1) * 1000);
    v.confirm(id, &confirmation(&issued), &clock).await.unwrap();
}

#[tokio::test]
async fn confirmation_attempts_are_limited() {
    let (issued, v, id, clock) = setup().await;
    let right = confirmation(&issued);
    for remaining_attempts in (1..5).rev() {
        assert_eq!(
            v.confirm(id, &wrong(&right), &clock).await,
            Err(VerifyError::WrongConfirmation { remaining_attempts })
        );
    }
    // A typing slip is not counted.
    assert!(matches!(
        v.confirm(id, "12", &clock).await,
        Err(VerifyError::Malformed(_))
    ));
    assert_eq!(
        v.confirm(id, &wrong(&right), &clock).await,
        Err(VerifyError::Locked)
    );
    assert_eq!(
        v.confirm(id, &right, &clock).await,
        Err(VerifyError::Locked)
    );
    assert_eq!(
        v.store().state(id).await.unwrap().unwrap().confirm_attempts,
        5
    );
    assert_eq!(
        v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock)
            .await,
        Err(VerifyError::NotConfirmed)
    );
}

/// Exactly one confirmation is accepted; a second correct one means someone
/// else activated the same payload: the card is suspended until an operator acts.
#[tokio::test]
async fn a_second_confirmation_suspends_the_card_as_a_possible_clone() {
    let (issued, v, id, clock) = setup().await;
    let right = confirmation(&issued);
    v.confirm(id, &right, &clock).await.unwrap();
    v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock)
        .await
        .unwrap();
    clock.advance_seconds(60);
    assert_eq!(
        v.confirm(id, &right, &clock).await,
        Err(VerifyError::CloneSuspected)
    );
    assert_eq!(status(&v, id).await, CardStatus::Suspended);
    assert_eq!(
        v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock)
            .await,
        Err(VerifyError::Suspended)
    );
    assert_eq!(
        v.confirm(id, &right, &clock).await,
        Err(VerifyError::Suspended)
    );
    // Enrolling the card again is refused and does not lift the suspension;
    // neither does a verifier restarted on the same store. An operator does.
    assert_eq!(
        v.enroll(&issued, None).await,
        Err(VerifyError::DuplicateCard)
    );
    let restarted = instance(VerifierConfig::default(), v.store());
    assert_eq!(
        restarted
            .verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock)
            .await,
        Err(VerifyError::Suspended)
    );
    let operator =
        OperatorAuthorization::new("operator-7", "clone checked with the customer").unwrap();
    restarted
        .operator_lift_suspension(&operator, id)
        .await
        .unwrap();
    v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock)
        .await
        .unwrap();
    let trail: Vec<(String, String)> = v
        .store()
        .audit_trail(id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.event, e.actor))
        .collect();
    assert_eq!(
        trail,
        [
            ("confirmed".to_owned(), "customer".to_owned()),
            ("clone_suspected".to_owned(), "customer".to_owned()),
            ("lifted".to_owned(), "operator-7".to_owned()),
        ]
    );
}

/// The internet bank retries a confirmation whose answer it lost, with the
/// same idempotency key: the retry is answered as the first was and does not
/// suspend the customer's own card. A confirmation by another request (another
/// key, or none) is still a clone.
#[tokio::test]
async fn a_retried_confirmation_is_not_a_clone() {
    let (issued, v, id, clock) = setup().await;
    let right = confirmation(&issued);
    let request = ConfirmRequest::new("internet-bank", Some("confirm-7f3a")).unwrap();
    v.confirm_request(id, &right, request, &clock)
        .await
        .unwrap();
    clock.advance_seconds(5);
    v.confirm_request(id, &right, request, &clock)
        .await
        .unwrap();
    let state = v.store().state(id).await.unwrap().unwrap();
    assert_eq!(
        (state.status, state.confirm_attempts),
        (CardStatus::Active, 1)
    );
    // The PINs count, and the retry after the deadline is still answered.
    v.verify(id, PinKind::Second, &second_pin(&issued, &clock), &clock)
        .await
        .unwrap();
    let limit = VerifierConfig::default().confirmation_seconds as i64;
    clock.set_millis((NOW + limit + 60) * 1000);
    v.confirm_request(id, &right, request, &clock)
        .await
        .unwrap();
    assert_eq!(status(&v, id).await, CardStatus::Active);

    // Another key: a second activation.
    let (issued, v, id, clock) = setup().await;
    let right = confirmation(&issued);
    v.confirm_request(id, &right, request, &clock)
        .await
        .unwrap();
    let other = ConfirmRequest::new("internet-bank", Some("confirm-9b01")).unwrap();
    assert_eq!(
        v.confirm_request(id, &right, other, &clock).await,
        Err(VerifyError::CloneSuspected)
    );
    assert_eq!(status(&v, id).await, CardStatus::Suspended);
    // No key (`confirm`): every call is a request of its own.
    let (issued, v, id, clock) = setup().await;
    let right = confirmation(&issued);
    v.confirm(id, &right, &clock).await.unwrap();
    assert_eq!(
        v.confirm(id, &right, &clock).await,
        Err(VerifyError::CloneSuspected)
    );
}

/// The token of a request with an idempotency key is SHA-256(client ‖ 0 ‖
/// key): the same for every retry, another for another client or key.
/// Without a key it is random.
#[test]
fn a_confirm_request_names_the_client_and_its_key() {
    let token = ConfirmRequest::new("internet-bank", Some("k-1")).unwrap();
    assert_eq!(
        token.0,
        <[u8; 32]>::from(Sha256::digest(b"internet-bank\0k-1"))
    );
    assert_eq!(
        ConfirmRequest::new("internet-bank", Some("k-1")).unwrap(),
        token
    );
    for (client, key) in [
        ("internet-bank", "k-2"),
        ("atm", "k-1"),
        ("internet-ban", "kk-1"),
    ] {
        assert_ne!(ConfirmRequest::new(client, Some(key)).unwrap(), token);
    }
    let unkeyed = ConfirmRequest::new("internet-bank", None).unwrap();
    assert_ne!(unkeyed, ConfirmRequest::new("internet-bank", None).unwrap());
    assert_ne!(unkeyed, ConfirmRequest::random().unwrap());
}

/// A pending card has nothing to lift.
#[tokio::test]
async fn a_pending_card_is_not_lifted() {
    let (_, v, id, _) = setup().await;
    let operator = OperatorAuthorization::new("operator-7", "ticket 42").unwrap();
    assert_eq!(
        v.operator_lift_suspension(&operator, id).await,
        Err(VerifyError::NotConfirmed)
    );
    assert_eq!(status(&v, id).await, CardStatus::Pending);
}

/// A store that cannot answer confirms nothing and counts nothing; once it
/// is back, the code confirms once.
#[tokio::test]
async fn a_store_error_fails_closed() {
    let issued = provision();
    let store = Arc::new(TestStore::default());
    let v = instance(VerifierConfig::default(), &store);
    let id = v.enroll(&issued, None).await.unwrap();
    let clock = ManualClock::from_unix_seconds(NOW + 30);
    let right = confirmation(&issued);
    store.set_failing(true);
    for typed in [right.clone(), wrong(&right)] {
        assert!(
            matches!(
                v.confirm(id, &typed, &clock).await,
                Err(VerifyError::Unavailable(_))
            ),
            "{typed}"
        );
    }
    store.set_failing(false);
    let state = store.state(id).await.unwrap().unwrap();
    assert_eq!(
        (state.status, state.confirm_attempts),
        (CardStatus::Pending, 0)
    );
    v.confirm(id, &right, &clock).await.unwrap();
    assert_eq!(
        v.confirm(id, &right, &clock).await,
        Err(VerifyError::CloneSuspected)
    );
}

/// A card suspended before it was ever confirmed goes back to pending when
/// the suspension is lifted: lifting never skips the confirmation. A
/// confirmed card goes back to active.
#[tokio::test]
async fn lifting_restores_pending_or_active_never_skips_the_confirmation() {
    let (issued, v, id, clock) = setup().await;
    let operator = OperatorAuthorization::new("op-7", "fraud check").unwrap();
    v.operator_suspend(&operator, id).await.unwrap();
    v.operator_lift_suspension(&operator, id).await.unwrap();
    assert_eq!(status(&v, id).await, CardStatus::Pending);
    let pin = second_pin(&issued, &clock);
    assert_eq!(
        v.verify(id, PinKind::Second, &pin, &clock).await,
        Err(VerifyError::NotConfirmed)
    );
    // Confirmed, suspended, lifted: active again, and the PIN counts.
    v.confirm(id, &confirmation(&issued), &clock).await.unwrap();
    v.operator_suspend(&operator, id).await.unwrap();
    v.operator_lift_suspension(&operator, id).await.unwrap();
    assert_eq!(status(&v, id).await, CardStatus::Active);
    v.verify(id, PinKind::Second, &pin, &clock).await.unwrap();
}
