//! Iranian card issuers, recognised from the first six digits of a card number.
//!
//! Source: the issuer identification numbers (IIN/BIN) of the Shetab network,
//! as published by the Central Bank of Iran and republished by the banks and
//! Shaparak payment providers (list reviewed 2026-11). Several institutions
//! listed here have since merged into Bank Sepah (Ansar, Ghavamin, Hekmat
//! Iranian, Kowsar, Mehr Eghtesad); their cards are still in circulation, so
//! their prefixes are kept and their original names shown.

use core::fmt;

/// A card-issuing bank or credit institution of the Shetab network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // each variant is the bank it names; see `name()`/`persian_name()`
pub enum Bank {
    Melli,
    Sepah,
    ToseeSaderat,
    SanatVaMadan,
    Keshavarzi,
    Maskan,
    PostBank,
    ToseeTaavon,
    EghtesadNovin,
    Parsian,
    Pasargad,
    Karafarin,
    Saman,
    Sina,
    Sarmayeh,
    Ayandeh,
    Shahr,
    Dey,
    Saderat,
    Mellat,
    Tejarat,
    Refah,
    Ansar,
    MehrEghtesad,
    Ghavamin,
    MehrIran,
    IranZamin,
    HekmatIranian,
    Gardeshgari,
    Resalat,
    Khavarmianeh,
    Kowsar,
    Melal,
    Noor,
    IranVenezuela,
    CentralBank,
    ToseeCredit,
}

/// `(BIN, bank)` pairs; several banks issue under more than one prefix.
const BINS: &[(u32, Bank)] = &[
    (603_799, Bank::Melli),
    (589_210, Bank::Sepah),
    (627_648, Bank::ToseeSaderat),
    (207_177, Bank::ToseeSaderat),
    (627_961, Bank::SanatVaMadan),
    (603_770, Bank::Keshavarzi),
    (639_217, Bank::Keshavarzi),
    (628_023, Bank::Maskan),
    (627_760, Bank::PostBank),
    (502_908, Bank::ToseeTaavon),
    (627_412, Bank::EghtesadNovin),
    (622_106, Bank::Parsian),
    (639_194, Bank::Parsian),
    (627_884, Bank::Parsian),
    (502_229, Bank::Pasargad),
    (639_347, Bank::Pasargad),
    (627_488, Bank::Karafarin),
    (502_910, Bank::Karafarin),
    (621_986, Bank::Saman),
    (639_346, Bank::Sina),
    (639_607, Bank::Sarmayeh),
    (636_214, Bank::Ayandeh),
    (502_806, Bank::Shahr),
    (504_706, Bank::Shahr),
    (502_938, Bank::Dey),
    (603_769, Bank::Saderat),
    (610_433, Bank::Mellat),
    (991_975, Bank::Mellat),
    (627_353, Bank::Tejarat),
    (585_983, Bank::Tejarat),
    (589_463, Bank::Refah),
    (627_381, Bank::Ansar),
    (639_370, Bank::MehrEghtesad),
    (639_599, Bank::Ghavamin),
    (606_373, Bank::MehrIran),
    (505_785, Bank::IranZamin),
    (636_949, Bank::HekmatIranian),
    (505_416, Bank::Gardeshgari),
    (504_172, Bank::Resalat),
    (585_947, Bank::Khavarmianeh),
    (505_801, Bank::Kowsar),
    (606_256, Bank::Melal),
    (507_677, Bank::Noor),
    (581_874, Bank::IranVenezuela),
    (636_795, Bank::CentralBank),
    (628_157, Bank::ToseeCredit),
];

impl Bank {
    /// The bank that issues cards starting with `bin` (the first six digits).
    ///
    /// ```
    /// use dynpin::card::Bank;
    ///
    /// assert_eq!(Bank::from_bin(610_433), Some(Bank::Mellat));
    /// assert_eq!(Bank::from_bin(123_456), None);
    /// ```
    pub fn from_bin(bin: u32) -> Option<Bank> {
        BINS.iter()
            .find(|(prefix, _)| *prefix == bin)
            .map(|&(_, bank)| bank)
    }

    /// Every BIN this bank issues under.
    pub fn bins(self) -> impl Iterator<Item = u32> {
        BINS.iter()
            .filter(move |(_, bank)| *bank == self)
            .map(|&(bin, _)| bin)
    }

    /// The bank's English name.
    pub fn name(self) -> &'static str {
        match self {
            Bank::Melli => "Bank Melli Iran",
            Bank::Sepah => "Bank Sepah",
            Bank::ToseeSaderat => "Export Development Bank of Iran",
            Bank::SanatVaMadan => "Bank of Industry and Mine",
            Bank::Keshavarzi => "Bank Keshavarzi",
            Bank::Maskan => "Bank Maskan",
            Bank::PostBank => "Post Bank of Iran",
            Bank::ToseeTaavon => "Tose'e Ta'avon Bank",
            Bank::EghtesadNovin => "EN Bank (Eghtesad Novin)",
            Bank::Parsian => "Parsian Bank",
            Bank::Pasargad => "Bank Pasargad",
            Bank::Karafarin => "Karafarin Bank",
            Bank::Saman => "Saman Bank",
            Bank::Sina => "Sina Bank",
            Bank::Sarmayeh => "Sarmayeh Bank",
            Bank::Ayandeh => "Ayandeh Bank",
            Bank::Shahr => "Shahr Bank",
            Bank::Dey => "Bank Dey",
            Bank::Saderat => "Bank Saderat Iran",
            Bank::Mellat => "Bank Mellat",
            Bank::Tejarat => "Tejarat Bank",
            Bank::Refah => "Refah Kargaran Bank",
            Bank::Ansar => "Ansar Bank",
            Bank::MehrEghtesad => "Mehr Eghtesad Bank",
            Bank::Ghavamin => "Ghavamin Bank",
            Bank::MehrIran => "Gharz-al-Hasaneh Mehr Iran Bank",
            Bank::IranZamin => "Iran Zamin Bank",
            Bank::HekmatIranian => "Hekmat Iranian Bank",
            Bank::Gardeshgari => "Gardeshgari Bank",
            Bank::Resalat => "Gharz-al-Hasaneh Resalat Bank",
            Bank::Khavarmianeh => "Middle East Bank",
            Bank::Kowsar => "Kowsar Credit Institution",
            Bank::Melal => "Melal Credit Institution",
            Bank::Noor => "Noor Credit Institution",
            Bank::IranVenezuela => "Iran-Venezuela Bi-National Bank",
            Bank::CentralBank => "Central Bank of Iran",
            Bank::ToseeCredit => "Tose'e Credit Institution",
        }
    }

    /// The bank's name in Persian, as shown in Iranian apps.
    pub fn persian_name(self) -> &'static str {
        match self {
            Bank::Melli => "بانک ملی ایران",
            Bank::Sepah => "بانک سپه",
            Bank::ToseeSaderat => "بانک توسعه صادرات",
            Bank::SanatVaMadan => "بانک صنعت و معدن",
            Bank::Keshavarzi => "بانک کشاورزی",
            Bank::Maskan => "بانک مسکن",
            Bank::PostBank => "پست بانک ایران",
            Bank::ToseeTaavon => "بانک توسعه تعاون",
            Bank::EghtesadNovin => "بانک اقتصاد نوین",
            Bank::Parsian => "بانک پارسیان",
            Bank::Pasargad => "بانک پاسارگاد",
            Bank::Karafarin => "بانک کارآفرین",
            Bank::Saman => "بانک سامان",
            Bank::Sina => "بانک سینا",
            Bank::Sarmayeh => "بانک سرمایه",
            Bank::Ayandeh => "بانک آینده",
            Bank::Shahr => "بانک شهر",
            Bank::Dey => "بانک دی",
            Bank::Saderat => "بانک صادرات ایران",
            Bank::Mellat => "بانک ملت",
            Bank::Tejarat => "بانک تجارت",
            Bank::Refah => "بانک رفاه کارگران",
            Bank::Ansar => "بانک انصار",
            Bank::MehrEghtesad => "بانک مهر اقتصاد",
            Bank::Ghavamin => "بانک قوامین",
            Bank::MehrIran => "بانک قرض‌الحسنه مهر ایران",
            Bank::IranZamin => "بانک ایران زمین",
            Bank::HekmatIranian => "بانک حکمت ایرانیان",
            Bank::Gardeshgari => "بانک گردشگری",
            Bank::Resalat => "بانک قرض‌الحسنه رسالت",
            Bank::Khavarmianeh => "بانک خاورمیانه",
            Bank::Kowsar => "موسسه اعتباری کوثر",
            Bank::Melal => "موسسه اعتباری ملل",
            Bank::Noor => "موسسه اعتباری نور",
            Bank::IranVenezuela => "بانک ایران و ونزوئلا",
            Bank::CentralBank => "بانک مرکزی",
            Bank::ToseeCredit => "موسسه اعتباری توسعه",
        }
    }
}

impl fmt::Display for Bank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn well_known_prefixes() {
        assert_eq!(Bank::from_bin(603_799), Some(Bank::Melli));
        assert_eq!(Bank::from_bin(610_433), Some(Bank::Mellat));
        assert_eq!(Bank::from_bin(606_373), Some(Bank::MehrIran));
        assert_eq!(Bank::from_bin(628_023), Some(Bank::Maskan));
        assert_eq!(Bank::from_bin(0), None);
    }

    #[test]
    fn table_is_consistent() {
        let mut seen = HashSet::new();
        for &(bin, bank) in BINS {
            assert!(
                (100_000..1_000_000).contains(&bin),
                "{bin} is not six digits"
            );
            assert!(seen.insert(bin), "{bin} listed twice");
            assert!(bank.bins().any(|b| b == bin));
            assert!(!bank.name().is_empty() && !bank.persian_name().is_empty());
        }
        assert_eq!(
            Bank::Mellat.bins().collect::<Vec<_>>(),
            vec![610_433, 991_975]
        );
    }
}
