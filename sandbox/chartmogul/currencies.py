"""The currency codes the stand-in accepts on imported invoices: ISO 4217's List One (the
active codes, 2025), without precious metals, bond-market units, the test code and "no
currency", plus the codes withdrawn since 2020, because an invoice dated before a
withdrawal was billed in them. Anything else is refused like ChartMogul refuses it."""

from __future__ import annotations

_LIST_ONE = """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
    BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP
    ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR
    ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
    MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK
    PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC
    SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND
    VUV WST XAF XCD XCG XDR XOF XPF XSU XUA YER ZAR ZMW ZWG
"""
ACTIVE_ISO_4217 = frozenset(_LIST_ONE.split())

# Croatian kuna (2023, euro), Sierra Leone's old leone (2024, SLE), Zimbabwe dollar (2024,
# ZWG), Netherlands Antillean guilder (2025, XCG), Cuban convertible peso (2021)
WITHDRAWN_SINCE_2020 = frozenset({"HRK", "SLL", "ZWL", "ANG", "CUC"})

CURRENCIES = ACTIVE_ISO_4217 | WITHDRAWN_SINCE_2020


def is_currency(code: str) -> bool:
    """An ISO 4217 code (upper case, as ChartMogul expects it)."""
    return code in CURRENCIES
