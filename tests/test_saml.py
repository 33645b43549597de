"""Single sign-on with SAML 2.0, end to end: the app asks, and the test answers as the identity
provider with a response it signs with its own key, as a real IdP would post it back."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from surveys.models import AuditEvent

from .factories import make_user

pytestmark = pytest.mark.django_db

ORG = "corp-saml"
IDP = "https://idp.example.test/saml"
HOST = "health.example.test"
ACS = f"http://{HOST}/accounts/saml/{ORG}/acs/"
SP = f"http://{HOST}/accounts/saml/{ORG}/metadata/"


def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.example.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return (
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode(),
        cert.public_bytes(serialization.Encoding.PEM).decode(),
    )


IDP_KEY, IDP_CERT = key_pair()
OTHER_KEY, OTHER_CERT = key_pair()


@pytest.fixture
def saml(settings, tmp_path, client):
    """The IdP configured from a metadata file, as SAML_<ID>_METADATA_FILE does it."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]
    client.defaults["HTTP_HOST"] = HOST
    from healthcheck.settings import saml_metadata_file

    body = "".join(IDP_CERT.strip().splitlines()[1:-1])
    metadata = tmp_path / "idp.xml"
    metadata.write_text(
        f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{IDP}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
      <ds:X509Data><ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{IDP}/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""
    )
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "saml": {
            "APPS": [
                {
                    "client_id": ORG,
                    "name": "Corp directory",
                    "settings": {
                        "idp": saml_metadata_file("SAML_TEST_", str(metadata)),
                        "trust_email": True,
                        "attribute_mapping": settings.SAML_ATTRIBUTES,
                        "use_nameid_for_email": True,
                        "advanced": {
                            "want_assertion_signed": True,
                            "reject_idp_initiated_sso": True,
                            "strict": True,
                        },
                    },
                }
            ]
        },
    }


def instant(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def response_for(
    request_id: str, email: str, *, key: str = IDP_KEY, cert: str = IDP_CERT, issuer: str = IDP
) -> str:
    """A SAML response as the IdP sends it, its assertion signed with the IdP's key."""
    now = datetime.now(UTC)
    assertion_id, response_id = f"_{uuid.uuid4().hex}", f"_{uuid.uuid4().hex}"
    assertion = f"""<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{assertion_id}" Version="2.0" IssueInstant="{instant(now)}"><saml:Issuer>{issuer}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{instant(now + timedelta(minutes=5))}" Recipient="{ACS}" InResponseTo="{request_id}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{instant(now - timedelta(minutes=1))}" NotOnOrAfter="{instant(now + timedelta(minutes=5))}"><saml:AudienceRestriction><saml:Audience>{SP}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{instant(now)}" SessionIndex="{assertion_id}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue xsi:type="xs:string">{email}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"""
    signed = OneLogin_Saml2_Utils.add_sign(
        assertion,
        key,
        cert,
        sign_algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        digest_algorithm="http://www.w3.org/2001/04/xmlenc#sha256",
    ).decode()
    signed = re.sub(r"^<\?xml[^>]*\?>\s*", "", signed)
    return f"""<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{response_id}" Version="2.0" IssueInstant="{instant(now)}" Destination="{ACS}" InResponseTo="{request_id}"><saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{signed}</samlp:Response>"""


def start(client) -> str:
    """Press the button: the app sends the browser to the IdP with a request; its id."""
    asked = client.post(f"/accounts/saml/{ORG}/login/")
    assert asked.status_code == 302 and asked["Location"].startswith(f"{IDP}/sso?"), asked
    request = OneLogin_Saml2_Utils.decode_base64_and_inflate(
        parse_qs(urlsplit(asked["Location"]).query)["SAMLRequest"][0]
    )
    return re.search(rb'ID="([^"]+)"', request).group(1).decode()


def answer(client, xml: str):
    """The browser posts the IdP's response to our ACS, which finishes the sign-in."""
    posted = client.post(
        f"/accounts/saml/{ORG}/acs/", {"SAMLResponse": base64.b64encode(xml.encode()).decode()}
    )
    assert posted.status_code == 302, posted.content[:300]
    return client.get(posted["Location"])


def signed_in_as(client):
    return client.get("/").wsgi_request.user


def test_the_sign_in_page_offers_the_saml_provider(client, saml):
    assert "Sign in with Corp directory" in client.get("/accounts/login/").content.decode()


def test_a_signed_response_signs_in_the_person_with_that_email(client, saml):
    alice = make_user("alice")
    finished = answer(client, response_for(start(client), "alice@example.com"))
    assert finished.status_code == 302 and finished["Location"] == "/"
    assert signed_in_as(client) == alice
    assert SocialAccount.objects.get(user=alice).provider == "saml"
    event = AuditEvent.objects.get(action=AuditEvent.Action.SIGNED_IN)
    assert event.detail["method"] == "single sign-on (saml)"


def test_a_response_signed_by_another_key_is_refused(client, saml):
    make_user("alice")
    finished = answer(
        client, response_for(start(client), "alice@example.com", key=OTHER_KEY, cert=OTHER_CERT)
    )
    assert b"Single sign-on did not work" in finished.content
    assert not signed_in_as(client).is_authenticated


def test_a_tampered_response_is_refused(client, saml):
    make_user("alice")
    make_user("mallory")
    xml = response_for(start(client), "mallory@example.com").replace(
        "mallory@example.com", "alice@example.com"
    )
    finished = answer(client, xml)
    assert b"Single sign-on did not work" in finished.content
    assert not signed_in_as(client).is_authenticated


def test_a_response_from_another_issuer_is_refused(client, saml):
    make_user("alice")
    finished = answer(
        client, response_for(start(client), "alice@example.com", issuer="https://evil.example/saml")
    )
    assert b"Single sign-on did not work" in finished.content
    assert not signed_in_as(client).is_authenticated


def test_a_response_nobody_asked_for_is_refused(client, saml):
    make_user("alice")
    finished = answer(client, response_for("_not-a-request-we-made", "alice@example.com"))
    assert finished.status_code == 403
    assert not signed_in_as(client).is_authenticated


def test_an_unknown_email_is_refused_with_a_clear_page(client, saml):
    finished = answer(client, response_for(start(client), "stranger@example.com"))
    assert finished.status_code == 403 and b"no one here has that address" in finished.content
    assert not signed_in_as(client).is_authenticated


def test_an_email_from_an_idp_not_trusted_for_it_is_refused(client, saml, settings):
    settings.SOCIALACCOUNT_PROVIDERS["saml"]["APPS"][0]["settings"]["trust_email"] = False
    make_user("alice")
    finished = answer(client, response_for(start(client), "alice@example.com"))
    assert finished.status_code == 403 and b"did not confirm" in finished.content
    assert not signed_in_as(client).is_authenticated
