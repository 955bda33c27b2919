//! Entity labels: the closed set from docs/interface.md that `detect`, `redact --json`, metrics
//! and the audit log report. Detectors may use finer internal types but map onto these.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! labels {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// A canonical entity label (docs/interface.md "Entity labels").
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Label {
            $(#[serde(rename = $name)] $variant),+
        }

        impl Label {
            /// Every label, in docs/interface.md order.
            pub const ALL: &'static [Label] = &[$(Label::$variant),+];

            /// The label as written in docs/interface.md, e.g. `STREET_ADDRESS`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Label::$variant => $name),+ }
            }
        }

        impl FromStr for Label {
            type Err = UnknownLabel;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($name => Ok(Label::$variant),)+ _ => Err(UnknownLabel(s.to_string())) }
            }
        }
    };
}

labels! {
    Person => "PERSON",
    Organization => "ORGANIZATION",
    Location => "LOCATION",
    StreetAddress => "STREET_ADDRESS",
    Email => "EMAIL",
    Phone => "PHONE",
    CreditCard => "CREDIT_CARD",
    Iban => "IBAN",
    UsSsn => "US_SSN",
    NationalId => "NATIONAL_ID",
    Passport => "PASSPORT",
    DriverLicense => "DRIVER_LICENSE",
    IpAddress => "IP_ADDRESS",
    Url => "URL",
    DateOfBirth => "DATE_OF_BIRTH",
    Date => "DATE",
    Age => "AGE",
    Username => "USERNAME",
    Password => "PASSWORD",
    ApiKey => "API_KEY",
    CryptoAddress => "CRYPTO_ADDRESS",
    MedicalId => "MEDICAL_ID",
    AccountNumber => "ACCOUNT_NUMBER",
    OtherId => "OTHER_ID",
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A label name that is not in docs/interface.md's list.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown entity label {0:?}: expected one of PERSON, ORGANIZATION, LOCATION, STREET_ADDRESS, EMAIL, PHONE, CREDIT_CARD, IBAN, US_SSN, NATIONAL_ID, PASSPORT, DRIVER_LICENSE, IP_ADDRESS, URL, DATE_OF_BIRTH, DATE, AGE, USERNAME, PASSWORD, API_KEY, CRYPTO_ADDRESS, MEDICAL_ID, ACCOUNT_NUMBER, OTHER_ID")]
pub struct UnknownLabel(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_label() {
        for l in Label::ALL {
            assert_eq!(l.as_str().parse::<Label>().ok(), Some(*l));
        }
        assert!("person".parse::<Label>().is_err());
        assert_eq!(Label::ALL.len(), 24);
    }
}
