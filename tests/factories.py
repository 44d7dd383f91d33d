"""One factory per model. Reference data (schemes, NHSR, the MDOs, the agreements) comes from the
migrations, so factories look those up instead of inventing them."""

import datetime
import uuid

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from audit.models import AuditEvent
from claims.models import (
    Claim,
    ClaimClinician,
    ClaimHandling,
    ClaimReferenceCounter,
    RoutingRuling,
)
from handlers.models import Handler, HandlerOrganisation
from members.models import DefenceOrganisation, Employment, Member, Membership, Practice
from members.validators import nhs_number_check_digit
from schemes.models import ElsAgreement, Scheme


def recorded_claim(mdo: str = "MDU", **fields) -> Claim:
    """A claim recorded through the service, so routed and given its deadlines, against a GP
    who has been a member of `mdo` since 2000; a pre-2019 NHS incident by default."""
    from claims.services import claim_create

    gp = MemberFactory()
    MembershipFactory(
        member=gp,
        organisation=DefenceOrganisation.objects.get(code=mdo),
        start_date=datetime.date(2000, 1, 1),
    )
    values = {
        "matter_type": "claim",
        "claimant_name": "Ada Lovelace",
        "practice": PracticeFactory(),
        "care_setting": "general_practice",
        "activity": "nhs_primary_medical_services",
        "incident_date": datetime.date(2018, 11, 12),
        **fields,
    }
    return claim_create(actor=None, clinicians=[gp], **values)


def valid_nhs_number(n: int) -> str:
    """The n-th valid number of the never-issued 999 range (domain.md §6)."""
    candidate = n
    while True:
        first_nine = f"999{candidate % 1_000_000:06d}"
        check = nhs_number_check_digit(first_nine)
        if check is not None:
            return f"{first_nine}{check}"
        candidate += 1_000_003


class DefenceOrganisationFactory(DjangoModelFactory):
    class Meta:
        model = DefenceOrganisation
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"INS{n}")
    name = factory.LazyAttribute(lambda o: f"{o.code} Indemnity Ltd")
    kind = DefenceOrganisation.Kind.INSURER


class PracticeFactory(DjangoModelFactory):
    class Meta:
        model = Practice

    ods_code = factory.Sequence(lambda n: f"Y{n % 100000:05d}")
    name = factory.Sequence(lambda n: f"Practice {n} Surgery")
    postcode = "LS1 4AP"


class MemberFactory(DjangoModelFactory):
    class Meta:
        model = Member

    registration_body = Member.RegistrationBody.GMC
    registration_number = factory.Sequence(lambda n: f"{1000000 + n:07d}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    role = Member.Role.GP_PARTNER


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    member = factory.SubFactory(MemberFactory)
    organisation = factory.LazyFunction(lambda: DefenceOrganisation.objects.get(code="MPS"))
    start_date = datetime.date(2010, 1, 1)
    end_date = None


class EmploymentFactory(DjangoModelFactory):
    class Meta:
        model = Employment

    member = factory.SubFactory(MemberFactory, role=Member.Role.NURSE, registration_body="NMC")
    practice = factory.SubFactory(PracticeFactory)
    employer = factory.SubFactory(MemberFactory)
    start_date = datetime.date(2012, 1, 1)
    end_date = None


class SchemeFactory(DjangoModelFactory):
    class Meta:
        model = Scheme
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"SCHEME{n}")
    name = factory.LazyAttribute(lambda o: f"Scheme {o.code}")


class ElsAgreementFactory(DjangoModelFactory):
    class Meta:
        model = ElsAgreement

    organisation = factory.LazyFunction(lambda: DefenceOrganisation.objects.get(code="MDU"))
    agreed_on = datetime.date(2027, 1, 1)
    handover_on = datetime.date(2028, 1, 1)


class HandlerOrganisationFactory(DjangoModelFactory):
    class Meta:
        model = HandlerOrganisation
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"ORG{n}")
    name = factory.LazyAttribute(lambda o: f"{o.code} claims team")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class HandlerFactory(DjangoModelFactory):
    class Meta:
        model = Handler

    user = factory.SubFactory(UserFactory)
    organisation = factory.LazyFunction(lambda: HandlerOrganisation.objects.get(code="MPS"))
    role = Handler.Role.HANDLER


class ClaimFactory(DjangoModelFactory):
    class Meta:
        model = Claim

    reference = factory.Sequence(lambda n: f"CL-2099-{n:06d}")
    external_ref = factory.Sequence(lambda n: f"EXT-{n}")
    source_organisation = factory.LazyFunction(lambda: HandlerOrganisation.objects.get(code="NHSR"))
    matter_type = "claim"
    claimant_name = factory.Faker("name")
    claimant_date_of_birth = datetime.date(1980, 6, 15)
    claimant_nhs_number = factory.Sequence(valid_nhs_number)
    practice = factory.SubFactory(PracticeFactory)
    care_setting = "general_practice"
    activity = "nhs_primary_medical_services"
    incident_date = datetime.date(2018, 11, 12)
    notified_on = datetime.date(2022, 1, 10)
    stage = "letter_of_claim"
    status = "open"


class ClaimClinicianFactory(DjangoModelFactory):
    class Meta:
        model = ClaimClinician

    claim = factory.SubFactory(ClaimFactory)
    member = factory.SubFactory(MemberFactory)
    position = 0


class ClaimHandlingFactory(DjangoModelFactory):
    class Meta:
        model = ClaimHandling

    claim = factory.SubFactory(ClaimFactory)
    organisation = factory.LazyFunction(lambda: HandlerOrganisation.objects.get(code="MPS"))


class ClaimReferenceCounterFactory(DjangoModelFactory):
    class Meta:
        model = ClaimReferenceCounter
        django_get_or_create = ("year",)

    year = 2099
    last_number = 0


class AuditEventFactory(DjangoModelFactory):
    class Meta:
        model = AuditEvent

    actor = factory.SubFactory(UserFactory)
    action = "claim.update"
    subject_type = "claims.claim"
    subject_id = "1"


class RoutingRulingFactory(DjangoModelFactory):
    """The facts and outcome a routing decision points to (claims.models.RoutingRuling)."""

    class Meta:
        model = RoutingRuling

    key = factory.LazyFunction(uuid.uuid4)
    facts = factory.LazyFunction(dict)
    outcome = factory.LazyFunction(dict)
