//! Secret sealing with KMS envelope encryption, against moto's KMS and the key template.yaml
//! declares.

use herald::adapters::kms::KmsSealer;
use herald::common::account::AccountId;
use herald::common::seal::SecretSealer;
use herald::common::seal::local::LocalSealer;
use herald::common::secret::Secret;
use herald_tests::{aws, new_account, stack_var};

async fn sealer() -> KmsSealer {
    let config = aws().await;
    KmsSealer::new(
        aws_sdk_kms::Client::new(&config),
        stack_var("HERALD_KMS_KEY_ID"),
    )
}

#[tokio::test]
async fn kms_round_trip() {
    let sealer = sealer().await;
    let account = new_account();
    let secret = Secret::parse("correct horse battery staple").expect("valid");
    let sealed = sealer.seal(&account, &secret).await.expect("sealed");
    let text = String::from_utf8_lossy(sealed.as_bytes()).into_owned();
    assert!(!text.contains("battery"), "the secret shows through");
    let opened = sealer.open(&account, &sealed).await.expect("opened");
    assert_eq!(opened.expose(), "correct horse battery staple");
}

#[tokio::test]
async fn kms_sealed_secret_opens_only_for_its_account() {
    let sealer = sealer().await;
    let owner: AccountId = new_account();
    let sealed = sealer
        .seal(&owner, &Secret::parse("s3cret").expect("valid"))
        .await
        .expect("sealed");
    assert!(sealer.open(&new_account(), &sealed).await.is_err());
    // Nor by a sealer that did not make it.
    assert!(LocalSealer::random().open(&owner, &sealed).await.is_err());
}
