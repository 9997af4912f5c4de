"""What a clinician reads in the offline provider's bundle of a short note of our own: the whole
domain pipeline (`whole_document.offline_bundle`: chunking, extraction, grounding, the ConText
re-read, mapping, validation), one regression per error a reader would act on."""

import pytest

from medpipeline_tests.helpers import bundle_of_note, resources_of


def status(concept: dict) -> str:
    return concept["coding"][0]["code"]


def allergies(bundle: dict) -> dict[str, tuple[str, str]]:
    return {
        allergy["code"]["text"].lower(): (
            status(allergy["clinicalStatus"]),
            status(allergy["verificationStatus"]),
        )
        for allergy in resources_of(bundle, "AllergyIntolerance")
    }


def medications(bundle: dict) -> dict[str, tuple[str, str]]:
    """name -> (resource type, status) of every medication resource."""
    found = {}
    for kind in ("MedicationStatement", "MedicationRequest"):
        for resource in resources_of(bundle, kind):
            found[resource["medicationCodeableConcept"]["text"].lower()] = (
                kind,
                resource["status"],
            )
    return found


def condition_codes(bundle: dict) -> dict[str, str]:
    """ICD-10-CM code -> 'clinical status/verification status' of every Condition."""
    return {
        coding["code"]: f"{status(condition['clinicalStatus'])}/"
        f"{status(condition['verificationStatus'])}"
        for condition in resources_of(bundle, "Condition")
        for coding in condition["code"].get("coding", [])
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # an allergist's verdict after the history: the label is refuted, not active
            "Reason: Reported penicillin allergy (childhood rash).\n"
            "Oral amoxicillin challenge 500 mg: tolerated without reaction.\n"
            "Assessment: Penicillin allergy ruled out. Penicillin allergy label removed from "
            "chart.",
            {"penicillin": ("inactive", "refuted")},
        ),
        (
            "Allergies: penicillin (hives), codeine\nNo allergy to codeine.",
            {"penicillin": ("active", "confirmed"), "codeine": ("inactive", "refuted")},
        ),
        (  # what the patient carries for the allergy is no allergen
            "Allergies: Peanut (anaphylaxis) - carries epinephrine auto-injector 0.3 mg.",
            {"peanut": ("active", "confirmed")},
        ),
        (  # the page wrapped the line: an allergist's test is no allergen, the peanut is one
            "Allergies: Penicillin (childhood rash) - allergy testing this admission: skin testing"
            " negative, oral amoxicillin\nchallenge tolerated. Penicillin allergy label removed"
            " from chart. Peanut (anaphylaxis) - carries epinephrine\nauto-injector.\n"
            "Hospital course: transitioned to oral amoxicillin.",
            {"penicillin": ("inactive", "refuted"), "peanut": ("active", "confirmed")},
        ),
        (
            "Allergies: Lisinopril (angioedema), morphine (itching - not an allergy).",
            {"lisinopril": ("active", "confirmed")},
        ),
        (
            "Allergies: Shellfish - hives, treated with diphenhydramine; codeine (nausea)",
            {"shellfish": ("active", "confirmed"), "codeine": ("active", "confirmed")},
        ),
        (
            "Allergies: Oxaliplatin? No prior reaction. Iodine contrast - hives.",
            {"iodine contrast": ("active", "confirmed")},
        ),
        (  # remarks between the items are no substances
            "Allergies: Trimethoprim-sulfamethoxazole - contraindicated with MTX and prior rash. "
            "Abacavir - HLA-B*5701 positive, never exposed (do not give). Nickel (contact "
            "dermatitis); PCP aware.",
            {
                "trimethoprim-sulfamethoxazole": ("active", "confirmed"),
                "abacavir": ("active", "confirmed"),
                "nickel": ("active", "confirmed"),
            },
        ),
        (
            "Allergies: lamotrigine (rash - SJS concern per patient, unconfirmed).",
            {"lamotrigine": ("active", "unconfirmed")},
        ),
        (
            "PAST ALLERGY HISTORY: Amoxicillin - childhood rash (low risk history).",
            {"amoxicillin": ("active", "confirmed")},
        ),
        (
            "ASSESSMENT:\n1. Anaphylaxis due to peanut (T78.01XA).\nHPI: anaphylactic reaction "
            "to cefazolin during surgery in 2019. No history of anaphylaxis to penicillin. "
            "Mother had anaphylaxis to bee stings.",
            {"peanut": ("active", "confirmed"), "cefazolin": ("active", "confirmed")},
        ),
    ],
    ids=[
        "ruled-out-after-the-history",
        "denied-after-the-list",
        "carries",
        "a-wrapped-allergy-line",
        "not-an-allergy",
        "treated-with",
        "a-question-answered-no",
        "remarks",
        "unconfirmed",
        "an-allergy-history",
        "an-anaphylaxis-a-substance-caused",
    ],
)
def test_an_allergy_refuted_later_and_what_treats_it(text: str, expected: dict) -> None:
    assert allergies(bundle_of_note(text)) == expected


def test_an_allergys_reaction_without_the_remark_on_it() -> None:
    bundle = bundle_of_note(
        "Allergies: Oxaliplatin - infusion reaction (grade 2, cycle 4); lamotrigine (rash - SJS "
        "concern per patient, unconfirmed)."
    )
    reactions = {
        allergy["code"]["text"].lower(): [
            manifestation["text"]
            for reaction in allergy.get("reaction", [])
            for manifestation in reaction["manifestation"]
        ]
        for allergy in resources_of(bundle, "AllergyIntolerance")
    }
    assert reactions == {"oxaliplatin": ["infusion reaction"], "lamotrigine": ["rash"]}


def test_a_reaction_named_with_an_allergy_is_no_condition_and_a_tested_drug_no_medication() -> None:
    bundle = bundle_of_note(
        "Reason: Reported penicillin allergy (childhood rash).\n"
        "Penicillin skin testing: skin prick and intradermal negative.\n"
        "Oral amoxicillin challenge 500 mg: tolerated without reaction.\n"
    )
    assert resources_of(bundle, "Condition") == []
    assert medications(bundle) == {}


def observation_values(bundle: dict, code: str) -> list[float]:
    return [
        observation["valueQuantity"]["value"]
        for observation in resources_of(bundle, "Observation")
        if any(coding["code"] == code for coding in observation["code"].get("coding", []))
    ]


@pytest.mark.parametrize(
    ("text", "code", "values"),
    [
        ("Indication: Atrial fibrillation; goal INR 2.0-3.0.\nINR today: 3.6 (high).", "6301-6",
         [3.6]),
        ("Target INR 2.5. INR was 1.8 on 10/20.", "6301-6", [1.8]),
        ("Goal LDL 70 mg/dL\nLDL 131 mg/dL", "2089-1", [131]),
        ("Pre-dialysis weight 78.6 kg. Dry weight 76.0 kg. Ideal body weight 60 kg.", "29463-7",
         [78.6]),
        ("Troponin I peaked at 4.2 ng/mL.", "10839-9", [4.2]),
        ("INR today (POC): 1.8  (subtherapeutic)", "6301-6", [1.8]),
        ("- Transfuse 1 unit pRBC if Hgb < 6.0.\nHgb 7.2 g/dL", "718-7", [7.2]),
        ("If ALT > 3x ULN, hold methotrexate. ALT 45 U/L", "1742-6", [45]),
        ("Weight history: Pre-op weight 132 kg. Today: weight 98 kg.", "29463-7", [98]),
        ("- CKD 3b (baseline Cr 1.6). Cr 2.1 mg/dL today.", "2160-0", [2.1]),
    ],
    ids=["goal-range", "target", "goal-line", "dry-and-ideal-weight", "peaked-at",
         "a-point-of-care-value", "a-bound-to-act-on", "times-the-upper-limit",
         "a-pre-op-weight", "a-baseline"],
)  # fmt: skip
def test_a_value_aimed_at_is_no_result(text: str, code: str, values: list[float]) -> None:
    assert observation_values(bundle_of_note(text), code) == values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Current treatment: Methotrexate 15 mg weekly.\n"
         "Screening: Hepatitis B surface antigen negative. QuantiFERON negative.",
         {"methotrexate": ("MedicationStatement", "active")}),
        ("Plan:\n- Glipizide was considered but not started given risk of hypoglycemia.\n"
         "- Statin discussed but declined.", {}),
        ("Plan: Nirmatrelvir-ritonavir (Paxlovid) 300 mg/100 mg twice daily for 5 days. Hold "
         "atorvastatin while taking Paxlovid and for 3 days after.",
         {"paxlovid": ("MedicationStatement", "active"),  # named by the mention with its sig
          "atorvastatin": ("MedicationStatement", "on-hold")}),
        ("Started a course of ciprofloxacin last week for UTI, now completed.",
         {"ciprofloxacin": ("MedicationStatement", "completed")}),
        ("Completed a course of prednisone, then started on methotrexate.",
         {"prednisone": ("MedicationStatement", "completed"),
          "methotrexate": ("MedicationStatement", "active")}),
        ("Recommendations:\n1. Increase morphine ER to 45 mg every 12 hours.",
         {"morphine": ("MedicationRequest", "active")}),
        ("Meds given: Iron sucrose 100 mg IV.",
         {"iron sucrose": ("MedicationStatement", "completed")}),
        ("Recommendations: Stop all heparin products. Start argatroban infusion per protocol. "
         "Add heparin to allergy list if PF4 positive.",
         {"heparin": ("MedicationStatement", "stopped"),
          "argatroban": ("MedicationRequest", "active")}),
        ("Chronic low back pain. Failed physical therapy and gabapentin.",
         {"gabapentin": ("MedicationStatement", "stopped")}),
        ("Quetiapine was tapered off in October - no behaviors since.",
         {"quetiapine": ("MedicationStatement", "stopped")}),
        ("Plan: Naloxone nasal spray prescribed. Takes lisinopril 10 mg daily as prescribed.",
         {"naloxone": ("MedicationRequest", "active"),
          "lisinopril": ("MedicationStatement", "active")}),
        ("Pre-medications given: ondansetron 16 mg IV, dexamethasone 12 mg IV.",
         {"ondansetron": ("MedicationStatement", "completed"),
          "dexamethasone": ("MedicationStatement", "completed")}),
        ("Discharge medications:\n- Aspirin 81 mg daily\nStopped medications:\n- Metformin 500 mg",
         {"aspirin": ("MedicationRequest", "active"),
          "metformin": ("MedicationStatement", "stopped")}),
        ("START taking these medications\napixaban 5 MG tablet\nTake 1 tablet by mouth 2 times a "
         "day.\nSTOP taking these medications\nwarfarin 5 MG tablet\nASPIRIN 81 MG TABLET\n"
         "CONTINUE taking these medications\nmetoprolol succinate 25 MG 24 hr tablet",
         {"apixaban": ("MedicationRequest", "active"),
          "warfarin": ("MedicationStatement", "stopped"),
          "aspirin": ("MedicationStatement", "stopped"),
          "metoprolol succinate": ("MedicationStatement", "active")}),
        ("Stop taking:\n- Lisinopril (your kidney function was low) until your doctor tells you to "
         "restart\nContinue your other home medicines.",
         {"lisinopril": ("MedicationStatement", "stopped")}),
        ("Pain controlled with acetaminophen; oxycodone no longer needed.",
         {"acetaminophen": ("MedicationStatement", "active"),
          "oxycodone": ("MedicationStatement", "stopped")}),
        ("Plan: Angiogram next week. Hold clopidogrel? No - continue. Stop aspirin? Yes.",
         {"clopidogrel": ("MedicationStatement", "active"),
          "aspirin": ("MedicationStatement", "stopped")}),
        ("Your Medication List\nCHANGE how you take these medications\nlisinopril 20 MG tablet\n"
         "Commonly known as: PRINIVIL,ZESTRIL\nTake 1 tablet (20 mg total) by mouth daily.\n"
         "CONTINUE taking these medications\natorvastatin 40 MG tablet\nCommonly known as: "
         "LIPITOR\nSTOP taking these medications\nhydrochlorothiazide 25 MG tablet",
         {"lisinopril": ("MedicationRequest", "active"),
          "atorvastatin": ("MedicationStatement", "active"),
          "hydrochlorothiazide": ("MedicationStatement", "stopped")}),
        ("STOP taking these medications\nwarfarin 5 MG tablet\nContinue aspirin 81 mg daily.",
         {"warfarin": ("MedicationStatement", "stopped"),
          "aspirin": ("MedicationStatement", "active")}),
        ("Patient asks about starting Ozempic for weight loss; will discuss at next visit.",
         {"ozempic": ("MedicationStatement", "intended")}),
        ("Vitamin B12 deficiency - on cyanocobalamin 1000 mcg IM monthly. Admitted for lithium "
         "toxicity.", {"cyanocobalamin": ("MedicationStatement", "active")}),
        ("DISCONTINUE:\n  Glipizide 10 mg daily - hypoglycemia x3 episodes\n  Zolpidem 10 mg QHS"
         " - fall risk (Beers)\n\nContinue lisinopril 10 mg daily.",
         {"glipizide": ("MedicationStatement", "stopped"),
          "zolpidem": ("MedicationStatement", "stopped"),
          "lisinopril": ("MedicationStatement", "active")}),
        ("Medication reconciliation at admission:\n- Oxycodone ER 20 mg PO q12h - continue\n"
         "- Atorvastatin 20 mg daily - DISCONTINUE (not consistent with goals of care)\n"
         "- Zolpidem 5 mg qHS - taper and stop",
         {"oxycodone": ("MedicationStatement", "active"),
          "atorvastatin": ("MedicationStatement", "stopped"),
          "zolpidem": ("MedicationStatement", "stopped")}),
        ("Current meds:\nApixaban 5 mg BID - started 04/2025\nAspirin 81 mg - STOPPED when "
         "apixaban started (bleeding risk)\nMetformin and glipizide were stopped.",
         {"apixaban": ("MedicationStatement", "active"),
          "aspirin": ("MedicationStatement", "stopped"),
          "metformin": ("MedicationStatement", "stopped"),
          "glipizide": ("MedicationStatement", "stopped")}),
        ("Chemotherapy NOT administered: oxaliplatin 85 mg/m2, leucovorin 400 mg/m2.\n"
         "Isoniazid not chosen due to baseline elevated transaminases. Rh positive - RhoGAM not "
         "indicated.\nPrescriptions:\n- Mefloquine - NOT prescribed (anxiety disorder).\n"
         "- Atovaquone-proguanil 250/100 mg daily",
         {"atovaquone-proguanil": ("MedicationRequest", "active")}),
        ("Required norepinephrine up to 0.2 mcg/kg/min, weaned off 11/10.\n"
         "| Medication | Dose | Route | Frequency | Status |\n"
         "| Budesonide | 9 mg | PO | daily | Tapered off 09/2025 |",
         {"norepinephrine": ("MedicationStatement", "stopped"),
          "budesonide": ("MedicationStatement", "stopped")}),
        ("UDS today: Buprenorphine positive. Fentanyl negative.\n"
         "Interferon-gamma release assay positive.", {}),
        ("- Low potassium diet; patiromer 8.4 g daily if K >5.5.\n"
         "2. HTN - borderline control; add hydrochlorothiazide 12.5 mg daily if home BP > 130/80.",
         {"patiromer": ("MedicationStatement", "intended"),
          "hydrochlorothiazide": ("MedicationRequest", "draft")}),
        ("- Infliximab 2021-2024 - secondary loss of response\n- Ustekinumab 90 mg SC q8 weeks "
         "(since 01/2025)\nenoxaparin 40 mg SC daily x 14 days (completed 11/03)\n"
         "Metformin 500 mg BID 2019-present.",
         {"infliximab": ("MedicationStatement", "stopped"),
          "ustekinumab": ("MedicationStatement", "active"),
          "enoxaparin": ("MedicationStatement", "completed"),
          "metformin": ("MedicationStatement", "active")}),
        ("3. T2DM - hold metformin given planned contrast.\nLisinopril 10 mg daily - hold",
         {"metformin": ("MedicationStatement", "on-hold"),
          "lisinopril": ("MedicationStatement", "on-hold")}),
        ("- aspirin 81 mg daily - stop 7 days before surgery",
         {"aspirin": ("MedicationStatement", "active")}),
        ("Medications (reviewed with MAR):\nalendronate 70 mg PO weekly - DISCONTINUED due to "
         "dysphagia\nsenna 8.6 mg 2 tabs qHS - continue\n"
         "Albuterol trial x1 - no response, not continued.",
         {"alendronate": ("MedicationStatement", "stopped"),
          "senna": ("MedicationStatement", "active"),
          "albuterol": ("MedicationStatement", "stopped")}),
        ("EMS administered epinephrine IM 0.3 mg and he was treated in ED with methylprednisolone.",
         {"epinephrine": ("MedicationStatement", "completed"),
          "methylprednisolone": ("MedicationStatement", "completed")}),
        ("History: Diagnosed 02/2024.\nMedication reconciliation at admission:\n"
         "- Oxycodone ER 20 mg PO q12h - continue\n"
         "- Warfarin will need to be held 5 days before surgery",
         {"oxycodone": ("MedicationStatement", "active"),
          "warfarin": ("MedicationStatement", "active")}),
    ],
    ids=["an-antigen-is-a-test", "considered-but-not-started", "while-taking-and-brand",
         "course-now-completed", "a-start-of-another-drug", "numbered-plan-item", "iron-sucrose",
         "to-the-allergy-list", "failed-a-list", "tapered-off", "prescribed-at-the-end",
         "a-given-list", "a-stopped-list-after-discharge-medications", "an-after-visit-summary",
         "stop-taking", "no-longer-needed", "a-question-answered", "an-unbulleted-avs",
         "a-stop-list-ends-at-an-instruction", "what-the-patient-asks-about",
         "a-drug-named-in-a-condition", "a-discontinue-list", "a-status-after-a-dash",
         "the-subject-of-a-change", "not-given-chosen-indicated-prescribed", "weaned-and-tapered",
         "a-drug-screen", "to-start-past-a-bound", "a-closed-course", "a-hold-after-a-dash",
         "a-stop-ahead-of-surgery", "an-unbulleted-list-line-by-line", "administered-in-the-ed",
         "a-reconciliation-after-a-history-and-a-hold-to-come"],
)  # fmt: skip
def test_medications_as_the_text_has_them(text: str, expected: dict) -> None:
    assert medications(bundle_of_note(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("INFECTIOUS DISEASE CONSULTATION\nReason for consult: MSSA bacteremia.",
         {"R78.81": "active/confirmed"}),
        ("Plan: Start CPAP. Weight loss counseling. Heart failure team aware.", {}),
        ("PMH: Hypertension, GERD.\nImpression: Chest pain, likely GERD-related.",
         {"I10": "active/confirmed", "K21.9": "active/confirmed", "R07.9": "active/confirmed"}),
        ("History of DVT in 2015.\nAssessment: Left leg swelling, possible DVT.",
         {"I82.409": "active/provisional"}),
        ("Wound: Stage 3 pressure injury of sacrum, 3 x 2 cm.", {"L89.90": "active/confirmed"}),
        ("Diagnosis: Pancreatic adenocarcinoma with liver metastases.",
         {"C25.9": "active/confirmed", "C78.7": "active/confirmed"}),
        ("NEUROLOGY STROKE DISCHARGE SUMMARY\nDiagnosis: Migraine without aura.",
         {"G43.009": "active/confirmed"}),
        ("Assessment: Possible heparin-induced thrombocytopenia.",
         {"D75.82": "active/provisional"}),
        ("UTI treated with nitrofurantoin 11/20-11/25, resolved.",
         {"N39.0": "resolved/confirmed"}),
        ("Preeclampsia warning signs reviewed. Seizure precautions.", {}),
        ("DISCHARGE INSTRUCTIONS\nYour diagnosis: Community-acquired pneumonia.\nCall your doctor "
         "if you have fever or chest pain.", {"J18.9": "active/confirmed"}),
        ("Active Problems:\nType 2 diabetes mellitus with hyperglycemia\nAssessment/Plan:\n"
         "T2DM: insulin glargine 20 units nightly.", {"E11.65": "active/confirmed"}),
        ("Patient asks about starting Ozempic for weight loss; will discuss at next visit.", {}),
        ("Vitamin B12 deficiency - on cyanocobalamin 1000 mcg IM monthly.",
         {"E53.8": "active/confirmed"}),
        ("PPD negative 2025. Hepatitis B immune. Varicella immunity confirmed.", {}),
        ("LABS 02/07/2025:\nTest          Result   Ref range     Flag\n"
         "ALT           61       7-35 U/L      H\n\nASSESSMENT/PLAN:\n"
         "1. Plaque psoriasis (L40.0), improved.", {"L40.0": "active/confirmed"}),
        ("SURGICAL PATHOLOGY REPORT\nCollected: 10/20/2025\nSPECIMEN:\nA. Right breast, partial "
         "mastectomy\nFINAL DIAGNOSIS:\n - Invasive ductal carcinoma, Nottingham grade 2.\n"
         " - Margins negative for carcinoma.\nCOMMENT:\nReference range n/a. Results flag none.",
         {"C50.919": "active/confirmed"}),
        ("HIV negative 09/2025. Hepatitis C antibody negative.\n"
         "VISION/HEARING: Cataracts bilaterally; hearing aids.", {"H26.9": "active/confirmed"}),
        ("CT chest/abdomen/pelvis 09/2025: no evidence of recurrence or metastatic disease.\n"
         "Pneumonia ruled out. Pneumothorax - no evidence.", {}),
        ("Pulmonary embolism was considered but not evaluated given goals of care.\n"
         "Ampicillin and gentamicin x 48 h for rule-out sepsis.",
         {"I26.99": "active/provisional", "A41.9": "active/provisional"}),
        ("Consultant: Dr. Meera Sundaram, Infectious Diseases\n"
         "Immunization history: Tdap 2019. MMR x2. Hep B series complete. COVID-19 boosted 2024.\n"
         "Vaccines administered today:\n- Hepatitis A (Havrix) dose 1 - given\n"
         "Assessment: Latent TB infection.", {"Z22.7": "active/confirmed"}),
        ("1. Focal epilepsy (G40.209), well controlled.\n2. BPH with LUTS (N40.1)\n"
         "3. Major depressive disorder, recurrent, severe without psychotic features (F33.2)\n"
         "4. Hypertension; weight gain (R63.5)",
         {"G40.209": "active/confirmed", "N40.1": "active/confirmed",
          "F33.2": "active/confirmed", "I10": "active/confirmed"}),
        ("- Type 2 diabetes - RESOLVED; metformin stopped 06/2025.\n"
         "Hx: Hepatitis C - treated with sofosbuvir/velpatasvir 2023, SVR12 achieved (cured).",
         {"E11.9": "resolved/confirmed", "B19.20": "resolved/confirmed"}),
        ("ROS: Fever? No. Chest pain? Denies.\n2. Iron deficiency? Check ferritin and iron "
         "studies.", {"E61.1": "active/provisional"}),
        ("SCREENING: PHQ-9 = 21. GAD-7 = 14.\n1. Status post RYGB, appropriate weight loss.\n"
         "LATE EFFECTS TO MONITOR: cardiotoxicity, neuropathy, fatigue.", {}),
        ("ASSESSMENT:\n1. Complete ACL tear, left knee (S83.512A)\n2. Right plantar first "
         "metatarsal head diabetic foot ulcer, Wagner grade 2.\n3. Continue aspirin.\n"
         "PMH: HTN, PAD.",
         {"S83.512A": "active/confirmed", "E11.621": "active/confirmed",
          "I10": "active/confirmed", "I73.9": "active/confirmed"}),
        ("Tests: RSV PCR positive. COVID/Flu negative. Breast cancer, ER negative.\n"
         "Preeclampsia labs normal: platelets 210 K.\nSeizure likely provoked by alcohol "
         "withdrawal. Epilepsy not diagnosed at this time.",
         {"C50.919": "active/confirmed", "R56.9": "active/confirmed",
          "F10.939": "active/provisional"}),  # the seizure's likely cause
        ("Gestational hypertension - resolved. Second-degree perineal laceration, repaired. "
         "Postpartum anemia (O90.81).\nIndication: Mechanical mitral valve (On-X, 2017)",
         {"O13.9": "resolved/confirmed", "O70.1": "active/confirmed",
          "O90.81": "active/confirmed", "Z95.2": "active/confirmed"}),
    ],
    ids=["a-specialty-is-no-condition", "counseling-team", "history-confirms-a-likely-chronic",
         "an-episode-suspected-again", "pressure-injury", "liver-metastases", "a-document-title",
         "hit", "resolved-after-its-course", "warning-signs-and-precautions",
         "your-diagnosis-in-instructions", "a-plain-t2dm-joins-its-complication",
         "what-the-patient-asks-about", "a-deficiency-of-a-vitamin", "immune",
         "a-note-with-a-flag-column-is-no-lab-report", "a-pathology-diagnosis-under-its-label",
         "a-negative-test", "no-evidence-of", "considered-and-rule-out",
         "a-specialty-and-vaccines", "the-code-the-writer-printed", "resolved-and-cured",
         "a-question", "scores-expected-loss-and-what-to-monitor",
         "an-assessment-coded-by-its-writer", "a-verdict-within-its-item-labs-not-diagnosed",
         "obstetric-and-a-valve"],
)  # fmt: skip
def test_conditions_as_the_text_has_them(text: str, expected: dict) -> None:
    assert condition_codes(bundle_of_note(text)) == expected


def procedures(bundle: dict) -> list[tuple[str, str, str | None]]:
    found = [
        (p["resourceType"], p["code"]["text"], p.get("performedDateTime"))
        for p in resources_of(bundle, "Procedure")
    ]
    found += [
        (s["resourceType"], s["code"]["text"], None) for s in resources_of(bundle, "ServiceRequest")
    ]
    return sorted(found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Procedures performed: Left heart catheterization, coronary angiography.\n"
         "Indication: NSTEMI.",
         [("Procedure", "Left heart catheterization", None),
          ("Procedure", "coronary angiography", None)]),
        ("Procedure: Hemiarthroplasty, right hip.",
         [("Procedure", "Hemiarthroplasty, right hip", None)]),
        ("EGD 08/2025: small esophageal varices, no red signs.\n"
         "Colonoscopy 2024: two tubular adenomas removed.\nPlan: Repeat colonoscopy in 2027.",
         [("Procedure", "Colonoscopy", "2024"), ("Procedure", "EGD", "2025-08"),
          ("ServiceRequest", "colonoscopy", None)]),
        ("Prior right femoral-popliteal bypass in 2020, now occluded. Stopped prior to surgery.",
         [("Procedure", "right femoral-popliteal bypass", "2020")]),
        ("His family history is notable for his brother having had a CABG at 62.\n"
         "Prior C-section? No - prior spontaneous vaginal delivery 2021.", []),
        ("Her father had a myocardial\ninfarction at age 52 and subsequently underwent coronary"
         " artery bypass grafting.\nShe underwent\nlaparoscopic cholecystectomy in 2019.",
         [("Procedure", "laparoscopic cholecystectomy", "2019")]),
        ("Colonoscopy 03/2021: 2 tubular adenomas.\n- Repeat colonoscopy not needed now.",
         [("Procedure", "Colonoscopy", "2021-03")]),
        ("Procedures performed in ED: Splint application, left ankle.",
         [("Procedure", "Splint application, left ankle", None)]),
        ("Health maintenance: mammogram ordered. Colonoscopy 2021 was normal.\n"
         "Her upper endoscopy was unremarkable.",
         [("Procedure", "Colonoscopy", "2021"), ("Procedure", "upper endoscopy", None),
          ("ServiceRequest", "mammogram", None)]),
        ("Past Surgical History\nLaparoscopic cholecystectomy (2012)\nLeft carpal tunnel release"
         " (2016)\nTonsillectomy\n\nMedications\nLisinopril 20 mg daily\n",
         [("Procedure", "Laparoscopic cholecystectomy", "2012"),
          ("Procedure", "Left carpal tunnel release", "2016"),
          ("Procedure", "Tonsillectomy", None)]),
        ("Surgery: Laparoscopic sigmoid colectomy 05/02/2023", 
         [("Procedure", "Laparoscopic sigmoid colectomy", "2023-05-02")]),
    ],
    ids=["a-list-on-the-label-line", "one-procedure-and-its-site", "dated-findings-and-a-repeat",
         "prior-procedure", "a-relatives-and-one-denied", "a-relatives-on-a-wrapped-line",
         "a-repeat-not-needed", "where-performed", "a-normal-result",
         "unmarked-lines-a-release",
         "a-surgery-label"],
)  # fmt: skip
def test_procedures_as_the_text_has_them(text: str, expected: list) -> None:
    assert procedures(bundle_of_note(text)) == expected


def test_an_allergy_list_printed_in_columns_without_bars() -> None:
    bundle = bundle_of_note(
        "Allergies as of 11/30/2026\nReviewed on 11/30/2026\n"
        "Severity Noted Reaction Type Reactions\nPenicillins High 01/02/2010 Hives\n"
        "Sulfa Antibiotics Low 03/04/2015 Rash\n"
    )
    assert allergies(bundle) == {
        "penicillins": ("active", "confirmed"),
        "sulfa antibiotics": ("active", "confirmed"),
    }
    reactions = [
        a["reaction"][0]["manifestation"][0]["text"]
        for a in resources_of(bundle, "AllergyIntolerance")
    ]
    assert sorted(reactions) == ["Hives", "Rash"]
    assert medications(bundle) == {} and resources_of(bundle, "Condition") == []


def test_a_sig_ends_with_its_sentence() -> None:
    bundle = bundle_of_note("Metformin on hold while inpatient.\nAKI resolved with IV fluids.")
    [metformin] = resources_of(bundle, "MedicationStatement")
    assert metformin["status"] == "on-hold" and "dosage" not in metformin


def test_another_courses_route_is_not_the_drugs() -> None:
    bundle = bundle_of_note("Plan: Start prednisone 40 mg daily x 5 days after IV steroids.")
    [prednisone] = resources_of(bundle, "MedicationRequest")
    assert prednisone["dosageInstruction"][0]["text"] == "40 mg daily"


@pytest.mark.parametrize(
    ("text", "sig"),
    [
        ("CHANGED:\n  Metformin 1000 mg BID -> 500 mg BID (eGFR 38)", "500 mg BID"),
        ("quetiapine 25 mg PO qHS - tapering, decreased to 12.5 mg qHS", "12.5 mg qHS"),
        ("Lisinopril 10 mg daily -> cough.", "10 mg daily"),
    ],
    ids=["an-arrow", "decreased-to", "an-arrow-to-an-effect"],
)
def test_a_changed_dose_is_the_new_one(text: str, sig: str) -> None:
    [statement] = resources_of(bundle_of_note(text), "MedicationStatement")
    assert statement["dosage"][0]["text"] == sig


# EHR printouts (a summary of care rendered to PDF): what each row's status, the title above a
# table and each column's label say.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Allergies\n| Substance | Reaction | Severity | Status |\n"
            "| Penicillins | Hives | Moderate | Active |\n"
            "| Codeine | Nausea And Vomiting |  | Inactive |\n| Latex |  |  | Resolved |",
            {
                "penicillins": ("active", "confirmed"),
                "codeine": ("inactive", "confirmed"),
                "latex": ("resolved", "confirmed"),
            },
        ),
        (
            "Allergies\nSubstance: Ciprofloxacin   Reaction: Tendon pain   Status: Active\n"
            "Substance: Eggs   Reaction: Hives   Status: Inactive",
            {"ciprofloxacin": ("active", "confirmed"), "eggs": ("inactive", "confirmed")},
        ),
        (
            "Allergies: Eggs - Hives - Inactive; Penicillin - rash",
            {"eggs": ("inactive", "confirmed"), "penicillin": ("active", "confirmed")},
        ),
        (  # a heading of two titles joined by '/' ends the medication table above it
            "Discharge Medications\n| Medication | Dose | Frequency |\n"
            "| DONEPEZIL | 10 MG | QHS |\nAllergies/ADRs\n| Allergy | Severity | Reaction |\n"
            "| HALOPERIDOL | SEVERE | DYSTONIA |",
            {"haloperidol": ("active", "confirmed")},
        ),
    ],
    ids=["a-status-column", "labelled-fields", "a-status-closing-the-item", "allergies-slash-adrs"],
)
def test_an_allergy_list_s_status_is_the_allergy_s(text: str, expected: dict) -> None:
    assert allergies(bundle_of_note(text)) == expected


def test_labelled_allergy_fields_give_the_whole_reaction() -> None:
    bundle = bundle_of_note(
        "Allergies\nSubstance: Ciprofloxacin   Reaction: Tendon pain   Status: Active"
    )
    [allergy] = resources_of(bundle, "AllergyIntolerance")
    assert allergy["reaction"][0]["manifestation"] == [{"text": "Tendon pain"}]
    assert resources_of(bundle, "Condition") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Medications\n| Medication | Instructions | Status |\n"
            "| apixaban 5 mg oral tablet | 1 tab(s) orally 2 times a day | Active |\n"
            "| furosemide 40 mg oral tablet | 1 tab(s) orally once a day | Not taking |",
            {
                "apixaban 5 mg oral tablet": ("MedicationStatement", "active"),
                "furosemide 40 mg oral tablet": ("MedicationStatement", "stopped"),
            },
        ),
        (
            "Medications\n| Rx | Sig | Active |\n"
            "| Valacyclovir 1 g tab | 1 tab three times daily x 7 days | No |\n"
            "| Metformin 500 mg tab | 1 tab twice daily | Yes |",
            {
                "valacyclovir 1 g tab": ("MedicationStatement", "stopped"),
                "metformin 500 mg tab": ("MedicationStatement", "active"),
            },
        ),
        (
            "Discharge Medications\n| Medication | Dose | Route | Frequency | Action |\n"
            "| DONEPEZIL | 10 MG | PO | QHS | CONTINUE |\n"
            "| LORAZEPAM | 0.5 MG | PO | Q6H PRN | STOP |\n"
            "| GLIPIZIDE | 5 MG | PO | DAILY | STOP TAKING |",
            {
                "donepezil": ("MedicationRequest", "active"),
                "lorazepam": ("MedicationStatement", "stopped"),
                "glipizide": ("MedicationStatement", "stopped"),
            },
        ),
        (  # the stop list ends at the next title: the assessment's sertraline is the current one
            "Current Medications\n| Medication | Sig | Start |\n"
            "| sertraline 100 mg tablet | take 1 tablet by oral route once daily | 2018-02-10 |\n"
            "Discontinued Medications\n| Medication | Reason | Stop Date |\n"
            "| fluoxetine 20 mg capsule | Ineffective | 2018-02-10 |\n"
            "Assessment\n2. Depression - stable on sertraline.",
            {
                "sertraline 100 mg tablet": ("MedicationStatement", "active"),
                "fluoxetine 20 mg capsule": ("MedicationStatement", "stopped"),
            },
        ),
        (
            "Inactive Medications\n| Medication | Sig |\n"
            "| cephalexin 500 mg capsule | 1 capsule four times daily |",
            {"cephalexin 500 mg capsule": ("MedicationStatement", "completed")},
        ),
    ],
    ids=["not-taking", "an-active-column", "a-reconciliation-action", "a-discontinued-list",
         "an-inactive-list"],
)  # fmt: skip
def test_a_medication_table_s_status_column_and_title(text: str, expected: dict) -> None:
    assert medications(bundle_of_note(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Problem List\n| Problem | Code | Status |\n"
            "| Diabetic peripheral neuropathy | E10.42 | Active |\n"
            "| Benign prostatic hyperplasia | N40.0 | Active |",
            {"E10.42": "active/confirmed", "N40.0": "active/confirmed"},
        ),
        (
            "Active Problems\n| Problem | SNOMED | ICD-10 | Onset |\n"
            "| Hypothyroidism | 40930008 | E03.9 | 2010-05-01 |\n"
            "| Major depressive disorder, recurrent, moderate |  | F33.1 | 2018 |",
            {"E03.9": "active/confirmed", "F33.1": "active/confirmed"},
        ),
        (
            "Problem List\n| Active | Description | Code | Noted |\n"
            "| Yes | Rheumatoid arthritis involving multiple sites | M06.9 | 2014 |\n"
            "| No | Herpes zoster without complication | B02.9 | 2022 |",
            {"M06.9": "active/confirmed", "B02.9": "inactive/confirmed"},
        ),
        (
            "Resolved Problems\n| Problem | ICD-10 | Resolved |\n"
            "| Urinary tract infection | N39.0 | 2025-03-10 |",
            {"N39.0": "resolved/confirmed"},
        ),
        (
            "Encounter Diagnoses\n| Dx | Type | Code |\n"
            "| Sepsis due to Escherichia coli | Principal | A41.51 |\n"
            "| Acute pyelonephritis | Secondary | N10 |",
            {"A41.51": "active/confirmed", "N10": "active/confirmed"},
        ),
    ],
    ids=["a-code-column", "code-system-columns", "an-active-column", "a-resolved-list",
         "a-dx-column"],
)  # fmt: skip
def test_a_problem_table_s_code_status_and_title(text: str, expected: dict) -> None:
    bundle = bundle_of_note(text)
    assert condition_codes(bundle) == expected
    named = [condition["code"]["text"] for condition in resources_of(bundle, "Condition")]
    assert not {"Problem", "Dx", "Diagnosis"} & set(named)  # a header row is no fact


def observations(bundle: dict) -> dict[str, tuple]:
    """name -> (value, unit, interpretation, date) of every Observation."""
    return {
        observation["code"]["text"]: (
            observation["valueQuantity"]["value"],
            observation["valueQuantity"].get("unit"),
            [status(flag) for flag in observation.get("interpretation", [])],
            observation.get("effectiveDateTime"),
        )
        for observation in resources_of(bundle, "Observation")
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Results\n| Component | Value | Ref Range | Units | Date |\n"
            "| Glucose | 162 (H) | 70 - 99 | mg/dL | 10/14/2025 |",
            {"Glucose": (162, "mg/dL", ["H"], "2025-10-14")},
        ),
        (  # the header again under the next panel's name is no result
            "Results\n| Lipid Panel | Value | Units | Collected |\n"
            "| Triglycerides | 210 | mg/dL | 2025-06-20 |\n"
            "| Hepatic Function Panel | Value | Units | Collected |\n"
            "| ALT | 45 | U/L | 2025-06-20 |",
            {
                "Triglycerides": (210, "mg/dL", [], "2025-06-20"),
                "ALT": (45, "U/L", [], "2025-06-20"),
            },
        ),
        (
            "Vital Signs\n| Date | Ht (in) | Wt (lb) | Temp (F) |\n"
            "| 03/03/2025 | 63 | 132 | 97.8 |",
            {"Ht": (63, "[in_i]", [], "2025-03-03"), "Wt": (132, "[lb_av]", [], "2025-03-03"),
             "Temp": (97.8, "[degF]", [], "2025-03-03")},
        ),
    ],
    ids=["a-flag-in-parentheses-and-a-date-column", "a-panel-s-header-row", "units-in-headers"],
)  # fmt: skip
def test_a_result_table_s_flags_dates_and_units(text: str, expected: dict) -> None:
    assert observations(bundle_of_note(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Has tried and failed: topiramate (cognitive slowing), propranolol (fatigue, "
            "bradycardia), amitriptyline (weight gain).",
            {
                "topiramate": ("MedicationStatement", "stopped"),
                "propranolol": ("MedicationStatement", "stopped"),
                "amitriptyline": ("MedicationStatement", "stopped"),
            },
        ),
        (
            "Meds: aspirin 81, clopidogrel - stopped 2021, rosuvastatin 20, losartan 50",
            {
                "aspirin": ("MedicationStatement", "active"),
                "clopidogrel": ("MedicationStatement", "stopped"),
                "rosuvastatin": ("MedicationStatement", "active"),
                "losartan": ("MedicationStatement", "active"),
            },
        ),
        (
            "pantoprazole 40 mg daily (d/c'd - no indication)",
            {"pantoprazole": ("MedicationStatement", "stopped")},
        ),
    ],
    ids=["a-list-of-failed-drugs", "a-dash-status-within-its-item", "a-bracketed-dc"],
)
def test_a_stop_reaches_the_drugs_it_names(text: str, expected: dict) -> None:
    bundle = bundle_of_note(text)
    assert medications(bundle) == expected
    assert resources_of(bundle, "Condition") == []  # why a drug failed is no condition now


def test_when_to_test_again_is_no_result_and_no_known_food_allergies_no_allergy() -> None:
    bundle = bundle_of_note(
        "Allergies: Sulfa drugs (rash); NKFA\nAllergies\nSubstance: Codeine   Reaction: "
        "Shortness of Breath Severity: Moderate\n\nPlan: Recheck TSH 6 wks."
    )
    assert resources_of(bundle, "Observation") == []
    reactions = {
        allergy["code"]["text"]: allergy["reaction"][0]["manifestation"][0]["text"]
        for allergy in resources_of(bundle, "AllergyIntolerance")
    }
    assert reactions == {"Sulfa drugs": "rash", "Codeine": "Shortness of Breath"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Options: resume bisphosphonate vs denosumab vs zoledronic acid.",
            {
                "bisphosphonate": ("MedicationStatement", "intended"),
                "denosumab": ("MedicationStatement", "intended"),
                "zoledronic acid": ("MedicationStatement", "intended"),
            },
        ),
        (
            "Vasomotor symptoms: fezolinetant 45 mg daily is an option.",
            {"fezolinetant": ("MedicationStatement", "intended")},
        ),
        (
            "Will pursue prior authorization for dupilumab 300 mg SC q2 weeks.",
            {"dupilumab": ("MedicationStatement", "intended")},
        ),
        ("Referral to allergy for penicillin delabeling.", {}),
        (
            "Humira denied by insurance. Continue methotrexate 15 mg weekly.",
            {"methotrexate": ("MedicationStatement", "active")},
        ),
    ],
    ids=["options", "an-option", "a-prior-authorization", "a-delabeling", "denied-by-insurance"],
)
def test_a_choice_not_made_is_no_drug_taken(text: str, expected: dict) -> None:
    assert medications(bundle_of_note(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BK viremia (peak 12,000 copies, cleared 09/2023).", {"B34.9": "resolved/confirmed"}),
        ("Joint pain: psoriatic arthritis - denied by rheum.", {"M25.50": "active/confirmed"}),
        ("Cleared for surgery. Hypertension controlled.", {"I10": "active/confirmed"}),
    ],
    ids=["cleared", "denied-by-a-specialist", "cleared-for-surgery"],
)
def test_a_condition_cleared_or_denied(text: str, expected: dict) -> None:
    assert condition_codes(bundle_of_note(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Meds: azithromycin 250 mg MWF. Check EKG for QTc given azithro.",
            {"azithro": ("MedicationStatement", "active")},
        ),
        (
            "Patient given aspirin 325 mg and nitroglycerin.",
            {
                "aspirin": ("MedicationStatement", "completed"),
                "nitroglycerin": ("MedicationStatement", "completed"),
            },
        ),
        (
            "Start estradiol patch twice weekly + micronized progesterone 100 mg qhs.",
            {
                "estradiol": ("MedicationRequest", "active"),
                "micronized progesterone": ("MedicationRequest", "active"),
            },
        ),
    ],
    ids=["given-for-because-of", "given-to-the-patient", "two-hormones-each-its-own-dose"],
)
def test_given_as_because_of_and_a_hormone_of_its_own(text: str, expected: dict) -> None:
    bundle = bundle_of_note(text)
    assert medications(bundle) == expected
    doses = {
        request["medicationCodeableConcept"]["text"]: request["dosageInstruction"][0]["text"]
        for request in resources_of(bundle, "MedicationRequest")
    }
    assert doses.get("estradiol", "twice weekly") == "twice weekly"


def test_a_neoplasm_in_situ_is_not_an_invasive_cancer() -> None:
    bundle = bundle_of_note("Melanoma in situ (2021). Ductal carcinoma in situ of left breast.")
    assert condition_codes(bundle) == {"D03.9": "active/confirmed", "D05.10": "active/confirmed"}


def test_a_rows_dose_is_the_tablets_total_and_never_a_concentration() -> None:
    bundle = bundle_of_note(
        "Medications\n| Rx | Sig |\n"
        "| Methotrexate 2.5 mg tab | 6 tabs (15 mg) once weekly on Mondays |\n"
        "| insulin lispro 100 unit/mL pen | inject per sliding scale with meals |"
    )
    doses = {
        statement["medicationCodeableConcept"]["text"]: statement["dosage"][0].get("doseAndRate")
        for statement in resources_of(bundle, "MedicationStatement")
    }
    assert doses["Methotrexate 2.5 mg tab"][0]["doseQuantity"]["value"] == 15
    assert doses["insulin lispro 100 unit/mL pen"] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Briefly required norepinephrine in the ICU for 18 hours. Treated with IV "
            "hydromorphone for pain.",
            {
                "norepinephrine": ("MedicationStatement", "completed"),
                "hydromorphone": ("MedicationStatement", "completed"),
            },
        ),
        (
            "He was offered nicotine replacement but declined. Cefdinir 300 mg BID (avoiding "
            "amoxicillin due to allergy).",
            {"cefdinir": ("MedicationStatement", "active")},
        ),
        (
            "Cancer progressed on tamoxifen.",
            {"tamoxifen": ("MedicationStatement", "stopped")},
        ),
        (
            "Apixaban 5 mg PO BID - DO NOT START until 07/22/2024",
            {"apixaban": ("MedicationStatement", "on-hold")},
        ),
        (
            "Hospital course: Warfarin held on admission.\nDischarge medications:\n"
            "Warfarin - STOP. Replaced by apixaban.",
            {
                "warfarin": ("MedicationStatement", "stopped"),
                "apixaban": ("MedicationRequest", "active"),
            },
        ),
        (
            "He is currently treated with metformin 500 mg BID. He has required prednisone for "
            "years.",
            {
                "metformin": ("MedicationStatement", "active"),
                "prednisone": ("MedicationStatement", "active"),
            },
        ),
    ],
    ids=["required-and-treated-with", "declined-and-avoided", "progressed-on", "do-not-start",
         "held-then-stopped", "treated-with-now"],
)  # fmt: skip
def test_a_hospital_course_s_drugs(text: str, expected: dict) -> None:
    assert medications(bundle_of_note(text)) == expected


def test_a_risk_is_no_condition_and_a_threshold_to_call_for_no_result() -> None:
    bundle = bundle_of_note(
        "Stopped glipizide due to hypoglycemia risk.\nReturn to ED for vomiting, glucose > 300, "
        "lethargy. Call for blood glucose < 70.\nNotify MD for: blood glucose > 350.\n"
        "Glucose 182 mg/dL today."
    )
    assert resources_of(bundle, "Condition") == []
    assert observation_values(bundle, "2345-7") == [182]


def test_vitamin_k_is_a_drug_not_potassium() -> None:
    bundle = bundle_of_note("Vitamin K 10 mg IV given. K 4.1 mmol/L.")
    assert observation_values(bundle, "2823-3") == [4.1]
    assert medications(bundle) == {"vitamin k": ("MedicationStatement", "completed")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Allergies: Aspirin - wheezing.\nVitals (home): BP 138/88",
         {"aspirin": ("active", "confirmed")}),
        ("Allergies: Vancomycin - red man syndrome. Daptomycin - no known allergy.",
         {"vancomycin": ("active", "confirmed")}),
    ],
    ids=["a-label-line-with-brackets-ends-the-list", "a-drug-with-no-known-allergy"],
)  # fmt: skip
def test_an_allergy_list_s_end_and_a_drug_without_allergy(text: str, expected: dict) -> None:
    assert allergies(bundle_of_note(text)) == expected


@pytest.mark.parametrize(
    ("text", "code", "period"),
    [
        ("TELEHEALTH FOLLOW-UP VISIT (video)\nDate of service: 03/04/2025\nPatient location: "
         "home.", "VR", {"start": "2025-03-04"}),
        ("Admit: 09/21/2023   Discharge: 09/25/2023\nDiagnosis: pneumonia", "IMP",
         {"start": "2023-09-21", "end": "2023-09-25"}),
        ("Arrival: 12/08/2024 19:40   Discharge: 12/08/2024 23:55\n"
         "PEDIATRIC EMERGENCY DEPARTMENT NOTE", "EMER",
         {"start": "2024-12-08", "end": "2024-12-08"}),
        ("Clinic: Harborview Geriatric Clinic   Date of service: 11/20/2026\nShe went to the "
         "emergency room in May.\nRETURN TO CLINIC OR GO TO THE EMERGENCY DEPARTMENT IF YOU "
         "HAVE:\n- chest pain", "AMB", {"start": "2026-11-20"}),
        ("Date of service: 11/20/2026\nSeen in the emergency department for a fall.", "EMER",
         {"start": "2026-11-20"}),
    ],
    ids=["a-video-visit", "admit-and-discharge-labels", "a-discharge-from-the-ed",
         "return-precautions-name-the-ed", "seen-in-the-ed"],
)  # fmt: skip
def test_the_encounter_s_class_and_period(text: str, code: str, period: dict) -> None:
    [encounter] = resources_of(bundle_of_note(text), "Encounter")
    assert (encounter["class"]["code"], encounter["period"]) == (code, period)


def test_one_letter_vitals_on_a_line_with_a_heart_or_breathing_rate() -> None:
    bundle = bundle_of_note("PE: T 101.2 F, P 96, RR 18.")
    assert observation_values(bundle, "8310-5") == [101.2]
    assert observation_values(bundle, "8867-4") == [96]


def test_an_exacerbation_a_withdrawal_and_an_infection_by_name() -> None:
    bundle = bundle_of_note(
        "Assessment:\n1. COPD exacerbation.\n2. Alcohol withdrawal without complications.\n"
        "3. Helicobacter pylori infection.\n4. E. coli sepsis."
    )
    assert condition_codes(bundle) == {
        "J44.1": "active/confirmed",
        "F10.930": "active/confirmed",
        "B96.81": "active/confirmed",
        "A41.51": "active/confirmed",
    }


@pytest.mark.parametrize(
    "text",
    [
        "HPI: 60M with cough. Allergies: penicillin (hives). Medications: lisinopril 10 mg daily. "
        "Problems: hypertension. Vitals: BP 130/80, HR 72.",
        "Allergies: penicillin (hives).\nMedications: lisinopril 10 mg daily.\n"
        "Problems: hypertension.",
    ],
    ids=["labels-run-on-in-a-paragraph", "a-label-and-its-items-on-each-line"],
)
def test_each_label_starts_its_own_list(text: str) -> None:
    bundle = bundle_of_note(text)
    assert allergies(bundle) == {"penicillin": ("active", "confirmed")}
    assert medications(bundle) == {"lisinopril": ("MedicationStatement", "active")}
    assert condition_codes(bundle)["I10"] == "active/confirmed"


def reactions(bundle: dict) -> dict[str, list[str]]:
    """substance -> the reactions of every AllergyIntolerance."""
    return {
        allergy["code"]["text"].lower(): [
            reaction["manifestation"][0]["text"] for reaction in allergy.get("reaction", [])
        ]
        for allergy in resources_of(bundle, "AllergyIntolerance")
        if allergy["code"].get("text")
    }


def test_an_em_dash_between_an_allergen_and_its_reaction() -> None:
    bundle = bundle_of_note(
        "ALLERGIES: Peanut \u2014 anaphylaxis. Carbamazepine \u2014 Stevens-Johnson syndrome "
        "(2015). Clindamycin \u2014 C. diff colitis."
    )
    assert reactions(bundle) == {
        "peanut": ["anaphylaxis"],
        "carbamazepine": ["Stevens-Johnson syndrome"],
        "clindamycin": ["C. diff colitis"],
    }


@pytest.mark.parametrize(
    "text",
    [
        "HIV nonreactive. Syphilis screen non-reactive.",
        "Hep B non-immune: restart Heplisav-B series.",
        "hep B panel neg.",
        "Edinburgh Postnatal Depression Scale: 6. Geriatric Depression Scale score 3.",
        "FH psoriatic arthritis (sister).",
    ],
    ids=["nonreactive", "non-immune", "a-panel", "a-screening-scale", "fh-and-a-relative"],
)
def test_a_test_a_scale_or_a_relative_gives_the_patient_no_condition(text: str) -> None:
    assert condition_codes(bundle_of_note(text)) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tacrolimus trough 7.9 ng/mL (goal 6-8 ng/mL for months 6-12)",
         {"Tacrolimus trough": (7.9, "ng/mL", [], None)}),
        ("Prolactin 14 ng/mL.", {"Prolactin": (14, "ng/mL", [], None)}),
        ("25-OH vitamin D 22 ng/mL (L)", {"25-OH vitamin D": (22, "ng/mL", ["L"], None)}),
        ("Hgb 10.4 g/dL (L)", {"Hgb": (10.4, "g/dL", ["L"], None)}),
        ("Intact PTH 612 pg/mL (H) (target 150-600)", {"Intact PTH": (612, "pg/mL", ["H"], None)}),
    ],
    ids=["a-goal-after-it", "a-full-stop", "a-hydroxy-name", "a-bracketed-flag", "flag-and-target"],
)  # fmt: skip
def test_a_result_with_a_remark_after_it(text: str, expected: dict) -> None:
    assert observations(bundle_of_note(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected_allergies", "expected_medications"),
    [
        ("Allergies: NKDA. Plan: start amoxicillin 500 mg tid.", {},
         {"amoxicillin": ("MedicationRequest", "active")}),
        ("Allergies: PCN (hives). Gave ASA 324 mg chewed and NTG 0.4 mg SL x1.", {"pcn": ["hives"]},
         {"asa": ("MedicationStatement", "completed"),
          "ntg": ("MedicationStatement", "completed")}),
        ("Allergies: none. Gave ondansetron 4 mg IV.", {},
         {"ondansetron": ("MedicationStatement", "completed")}),
        ("All: PCN (hives), latex.", {"pcn": ["hives"], "latex": []}, {}),
    ],
    ids=["a-plan-after-nkda", "drugs-given-after-the-list", "none-then-a-drug-given",
         "the-all-label"],
)  # fmt: skip
def test_an_allergy_line_ends_where_its_sentences_name_amounts(
    text: str, expected_allergies: dict, expected_medications: dict
) -> None:
    bundle = bundle_of_note(text)
    assert reactions(bundle) == expected_allergies
    assert medications(bundle) == expected_medications
    assert condition_codes(bundle) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("if BP > 160 take extra clonidine 0.1 mg.",
         {"clonidine": ("MedicationStatement", "intended")}),
        ("If BK > 10,000 copies/mL, will convert mycophenolate to leflunomide.",
         {"mycophenolate": ("MedicationStatement", "active"),
          "leflunomide": ("MedicationStatement", "intended")}),
        ("d/c IVF. thiamine 100 mg daily.", {"thiamine": ("MedicationStatement", "active")}),
        ("On methotrexate 15 mg weekly since 2022 - stopped 3/2024.",
         {"methotrexate": ("MedicationStatement", "stopped")}),
        ("PMH: BPH. Home meds continued: tamsulosin 0.4 mg qhs.",
         {"tamsulosin": ("MedicationStatement", "active")}),
    ],
    ids=["if-without-a-comma", "will-convert-to", "a-lower-case-sentence-after-a-stop",
         "stopped-after-since", "a-home-meds-label-after-the-history"],
)  # fmt: skip
def test_a_terse_notes_drug_status(text: str, expected: dict) -> None:
    assert medications(bundle_of_note(text)) == expected


def test_a_dose_per_body_size_and_the_dose_it_comes_to() -> None:
    bundle = bundle_of_note(
        "Oxaliplatin 68 mg/m2 (135 mg) IV over 2 hours.\nDocetaxel reduced to 60 mg/m2.\n"
    )
    doses = {
        statement["medicationCodeableConcept"]["text"]: statement["dosage"][0]["doseAndRate"][0][
            "doseQuantity"
        ]
        for statement in resources_of(bundle, "MedicationStatement")
    }
    assert {name: (dose["value"], dose["code"]) for name, dose in doses.items()} == {
        "Oxaliplatin": (135, "mg"),
        "Docetaxel": (60, "mg/m2"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pt's wife reports he had chest pain last night. Per mother, she has had a cough.",
         {"R07.9": "active/confirmed", "R05.9": "active/confirmed"}),
        ("76M adm for PNA RLL. PMH: Parkinson's, GERD. etoh w/d - cont CIWA.",
         {"J18.9": "active/confirmed", "G20.A1": "active/confirmed", "K21.9": "active/confirmed",
          "F10.939": "active/confirmed"}),
        ("HCV antibody negative. HCV RNA pending. Hyaluronic acid (HA) injection.", {}),
    ],
    ids=["a-relative-reports-the-patient-s-symptoms", "short-forms", "a-virus-s-test"],
)  # fmt: skip
def test_who_reports_it_and_the_short_forms_of_a_terse_note(text: str, expected: dict) -> None:
    assert condition_codes(bundle_of_note(text)) == expected


def test_a_drug_tolerated_or_switched_to_is_no_allergen() -> None:
    bundle = bundle_of_note(
        "ALLERGIES: Amoxicillin - rash (age 2). Cefdinir tolerated in the past. Paclitaxel - "
        "flushing during first infusion; switched to docetaxel."
    )
    assert allergies(bundle) == {
        "amoxicillin": ("active", "confirmed"),
        "paclitaxel": ("active", "confirmed"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Past trials: lithium (tremor, hypothyroidism), valproate (hair loss).",
         {"lithium": ("MedicationStatement", "stopped"),
          "valproate": ("MedicationStatement", "stopped")}),
        ("Previously tried sertraline (up to 200 mg, 2018-2019), fluoxetine (40 mg, 2020). "
         "Currently on bupropion XL 300 mg daily.",
         {"sertraline": ("MedicationStatement", "stopped"),
          "fluoxetine": ("MedicationStatement", "completed"),
          "bupropion": ("MedicationStatement", "active")}),
        ("CKD 3a (calcineurin inhibitor nephrotoxicity). Aromatase inhibitor arthralgia. "
         "Dialysate flow 600 mL/min. Started a dopamine agonist.", {}),
    ],
    ids=["past-trials", "previously-tried-a-list", "a-class-named-by-its-target"],
)  # fmt: skip
def test_drugs_tried_before_and_classes_named_by_their_target(text: str, expected: dict) -> None:
    bundle = bundle_of_note(text)
    assert medications(bundle) == expected
    assert "E03.9" not in condition_codes(bundle)  # lithium's hypothyroidism is why it stopped


def test_an_allergy_to_a_class_with_an_example_drug() -> None:
    bundle = bundle_of_note(
        "ALLERGIES: Sulfa drugs (Bactrim) - hives. ACE inhibitors (lisinopril) - angioedema."
    )
    assert reactions(bundle) == {"sulfa drugs": ["hives"], "ace inhibitors": ["angioedema"]}


def test_a_dated_labs_label_dates_the_results_under_it() -> None:
    bundle = bundle_of_note(
        "Date of service: 10/01/2025\nLABS (09/29/2025):\nCreatinine 1.42 mg/dL\n"
        "Hgb 10.4 g/dL (L)\n\nToday glucose 112 mg/dL."
    )
    dates = {name: values[3] for name, values in observations(bundle).items()}
    assert dates == {"Creatinine": "2025-09-29", "Hgb": "2025-09-29", "glucose": "2025-10-01"}


def quantities(bundle: dict) -> dict[str, tuple]:
    """name -> (value, comparator, UCUM code, flags, (low, high), date) of every Observation."""
    found = {}
    for observation in resources_of(bundle, "Observation"):
        quantity = observation["valueQuantity"]
        ranges = observation.get("referenceRange") or [{}]
        found[observation["code"]["text"]] = (
            quantity["value"],
            quantity.get("comparator"),
            quantity.get("code"),
            [status(flag) for flag in observation.get("interpretation", [])],
            (ranges[0].get("low", {}).get("value"), ranges[0].get("high", {}).get("value")),
            observation.get("effectiveDateTime"),
        )
    return found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Component Value Units Ref Range Collected\nFerritin 8 ng/mL 30-400 10/01/2024\n",
         {"Ferritin": (8, None, "ng/mL", [], (30, 400), "2024-10-01")}),
        ("Hemoglobin A1c 8.4 H % of total Hgb <5.7",
         {"Hemoglobin A1c": (8.4, None, "%", ["H"], (None, None), None)}),
        ("Glucose 118 H mg/dL 65-99", {"Glucose": (118, None, "mg/dL", ["H"], (65, 99), None)}),
        ("TROPONIN I HS 1,240 H ng/L <34\nHIV-1 RNA, Quant 25,000 copies/mL",
         {"TROPONIN I HS": (1240, None, "ng/L", ["H"], (None, 34), None),
          "HIV-1 RNA, Quant": (25000, None, "{copies}/mL", [], (None, None), None)}),
        ("Urea Nitrogen (BUN) 24 mg/dL 7-25 EZ",
         {"Urea Nitrogen (BUN)": (24, None, "mg/dL", [], (7, 25), None)}),
        ("Collected: 02/11/2024 07:42\nPlatelets 98 K/uL 150-400\nCollected: 03/15/2024 08:00\n"
         "Hemoglobin 9.1 g/dL 13.5-17.5",
         {"Platelets": (98, None, "10*3/uL", [], (150, 400), "2024-02-11"),
          "Hemoglobin": (9.1, None, "g/dL", [], (13.5, 17.5), "2024-03-15")}),
        ("Hepatitis B Surface Ab <3.1 mIU/mL",
         {"Hepatitis B Surface Ab": (3.1, "<", "m[IU]/mL", [], (None, None), None)}),
    ],
    ids=["a-collected-column", "words-of-a-unit", "a-flag-before-the-unit", "thousands",
         "a-performing-lab-code", "collected-lines", "an-antibody-is-a-result-not-the-infection"],
)  # fmt: skip
def test_a_lab_report_s_rows(text: str, expected: dict) -> None:
    bundle = bundle_of_note(text)
    assert quantities(bundle) == expected
    assert condition_codes(bundle) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("E. coli resistant to ciprofloxacin and trimethoprim-sulfamethoxazole; sensitive to "
         "nitrofurantoin.\nOrganism: Staphylococcus aureus, methicillin resistant\n"
         "Oxacillin >=4 R\nVancomycin 1 S", {}),
        ("ALBUTEROL HFA 90 MCG INH 2 PUFFS Q4-6H PRN",
         {"albuterol": ("MedicationStatement", "active")}),
        ("Ibuprofen 600 mg tablet STOP\nDigoxin 0.125 mg tablet 1 tab daily HOLD\n"
         "Metoprolol 25 mg tablet CONTINUE\n",
         {"ibuprofen": ("MedicationStatement", "stopped"),
          "digoxin": ("MedicationStatement", "on-hold"),
          "metoprolol": ("MedicationStatement", "active")}),
    ],
    ids=["susceptibilities", "an-inhaler-s-dose-form", "a-reconciliation-s-actions"],
)  # fmt: skip
def test_a_printout_s_drugs(text: str, expected: dict) -> None:
    assert medications(bundle_of_note(text)) == expected


def test_a_result_in_a_sentence_of_its_own_or_a_numbered_item() -> None:
    bundle = bundle_of_note(
        "HIV nonreactive. Hep B surface Ab <3.1 mIU/mL.\nRESULTS\n3. Creatinine - 1.5 mg/dL "
        "(abnormal)"
    )
    assert quantities(bundle) == {
        "Hep B surface Ab": (3.1, "<", "m[IU]/mL", [], (None, None), None),
        "Creatinine": (1.5, None, "mg/dL", [], (None, None), None),
    }
    assert condition_codes(bundle) == {}


def test_an_immunization_record_names_vaccines_not_diseases() -> None:
    bundle = bundle_of_note(
        "PROBLEMS\nChronic hepatitis C (on sofosbuvir-velpatasvir)\n"
        "Hep B (Engerix-B)   dose 3 given 03/02/2024\n\n"
        "IMMUNIZATION RECORD\nVaccine                      Date Given     Lot\n"
        "Hepatitis B                  03/02/2024     AB123\n"
        "Influenza                    10/01/2025     FL992\n"
    )
    assert condition_codes(bundle) == {"B18.2": "active/confirmed"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Held: aspirin 81 mg daily (resume 1 week after biopsy)\nContinue: metoprolol 25 mg bid",
         {"aspirin": ("MedicationStatement", "on-hold"),
          "metoprolol": ("MedicationStatement", "active")}),
        ("Medications held: apixaban 5 mg bid, clopidogrel 75 mg daily. Continue atorvastatin "
         "40 mg nightly.",
         {"apixaban": ("MedicationStatement", "on-hold"),
          "clopidogrel": ("MedicationStatement", "on-hold"),
          "atorvastatin": ("MedicationStatement", "active")}),
    ],
    ids=["a-held-label", "medications-held"],
)  # fmt: skip
def test_a_label_that_holds_its_drugs(text: str, expected: dict) -> None:
    assert medications(bundle_of_note(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ALLERGIES\nAllergen: Penicillin\nReaction: Hives, itching\nSeverity: Moderate\n"
        "Allergen: Shellfish\nReaction: Anaphylaxis\n\nMEDICATIONS\nLisinopril 10 mg daily",
        "Allergen: Penicillin\nReaction: Hives, itching\nAllergen: Shellfish\n"
        "Reaction: Anaphylaxis\nMedications: lisinopril 10 mg daily",
    ],
    ids=["under-a-heading", "without-a-heading"],
)
def test_an_allergy_printed_field_by_field(text: str) -> None:
    bundle = bundle_of_note(text)
    assert reactions(bundle) == {"penicillin": ["Hives, itching"], "shellfish": ["Anaphylaxis"]}
    assert medications(bundle) == {"lisinopril": ("MedicationStatement", "active")}
    assert condition_codes(bundle) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Constitutional:   [ ] fever  [ ] chills  [X] fatigue", {"R53.83": "active/confirmed"}),
        ("Diabetes          [ ] Yes  [X] No\nAsthma            [X] Yes  [ ] No",
         {"J45.909": "active/confirmed"}),
        ("\u2610 Asthma  \u2611 Hypertension\n(  ) COPD   (x) GERD",
         {"I10": "active/confirmed", "K21.9": "active/confirmed"}),
        ("Heart disease             Y  (N)\nStroke                    (Y)  N",
         {"I63.9": "active/confirmed"}),
        ("___ Asthma   _X_ Hypertension   ___ Diabetes", {"I10": "active/confirmed"}),
        ("Diabetes: N    Asthma: Y\nHypertension (no)", {"J45.909": "active/confirmed"}),
        ("Do you cough, wheeze, or have difficulty breathing during or after exercise?   No", {}),
    ],
    ids=["ticked-boxes", "yes-no-boxes", "box-glyphs", "circled", "underscores", "written-no",
         "a-long-question-answered-no"],
)  # fmt: skip
def test_a_form_asserts_only_the_choices_it_makes(text: str, expected: dict) -> None:
    assert condition_codes(bundle_of_note(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Allergies: [ ] NKDA  [X] aspirin - angioedema", {"aspirin": ["angioedema"]}),
        ("Allergies: [ ] NKDA [X] See list: penicillin (anaphylaxis), codeine (nausea)",
         {"penicillin": ["anaphylaxis"], "codeine": ["nausea"]}),
        ("Latex allergy?              [ ] Yes   [X] No", {}),
        ("ALLERGIES:\nLatex:       [ ] Yes  [X] No\n"
         "Food:   [X] Peanut  [X] Tree nuts  [ ] Milk  [ ] Egg   Reaction: hives, lip swelling",
         {"peanut": ["hives, lip swelling"], "tree nuts": ["hives, lip swelling"]}),
        ("Are you allergic to any medications?  [X] Yes  [ ] No   If yes, list: sulfa - rash",
         {"sulfa": ["rash"]}),
        ("Do you have allergies to medications, food, a vaccine component, or latex?   [X]  [ ]\n"
         "   If yes, please list: eggs (hives)", {"eggs": ["hives"]}),
    ],
    ids=["nkda-not-ticked", "see-list", "answered-no", "kinds-of-allergen-ticked",
         "the-list-a-question-asks-for", "the-list-on-the-next-line"],
)  # fmt: skip
def test_a_forms_allergy_choices(text: str, expected: dict) -> None:
    bundle = bundle_of_note(text)
    assert reactions(bundle) == expected
    assert condition_codes(bundle) == {}


def test_a_reconciliation_forms_ticked_action_and_a_box_left_empty() -> None:
    bundle = bundle_of_note(
        "MEDICATIONS\natorvastatin 40 mg daily            [ ] Continue  [X] Stop\n"
        "warfarin 2 mg daily                 [X] Continue  [ ] Stop\n\n"
        "VTE prophylaxis: [X] SCDs  [ ] enoxaparin"
    )
    assert medications(bundle) == {
        "atorvastatin": ("MedicationStatement", "stopped"),
        "warfarin": ("MedicationStatement", "active"),
    }


@pytest.mark.parametrize(
    "text",
    [
        "\u201cALLERGIES:\nHaloperidol - rigidity\nCiprofloxacin - rash",
        "ALLERGIES: 7\u201d ee\n_ Haloperidol \u2019 rigidity -. Severe Active\n"
        "_ Ciprofloxacin - rash Moderate | Active",
        "ALLERGIES: | ,\u2122\nHaloperidol - rigidity\nCiprofloxacin - rash",
    ],
    ids=["a-quote-before-the-title", "specks-in-the-items", "marks-after-the-colon"],
)
def test_a_scanned_allergy_title_and_list(text: str) -> None:
    bundle = bundle_of_note(text)
    assert sorted(allergies(bundle)) == ["ciprofloxacin", "haloperidol"]
    assert medications(bundle) == {}


def test_a_number_a_scan_split_is_no_result() -> None:
    bundle = bundle_of_note(
        "Vitals: Temp 38. 6 C, HR 104\nLABS:\nCreatinine 0. 9 mg/dL\nHemoglobin 9:8 g/dL\n"
        "NT-proBNP 1 240 pg/mL\nSodium 140 135 - 145 mmol/L\nVitamin B12 450 pg/mL"
    )
    assert {name: values[0] for name, values in observations(bundle).items()} == {
        "HR": 104,
        "Sodium": 140,
        "Vitamin B12": 450,
    }


def test_a_forms_answers_in_words() -> None:
    bundle = bundle_of_note(
        "Do you have a history of diabetes?                 Yes\n"
        "Allergy List: penicillin\nMedication allergies:  NONE\n"
        "Food allergies: shellfish (throat swelling)"
    )
    assert condition_codes(bundle) == {"E11.9": "active/confirmed"}
    assert sorted(reactions(bundle)) == ["penicillin", "shellfish"]
    codings = [
        coding["code"]
        for allergy in resources_of(bundle, "AllergyIntolerance")
        for coding in allergy["code"].get("coding", [])
    ]
    assert codings == ["409137002"]  # no known drug allergy: the shellfish is a food


def test_a_sig_never_takes_the_next_lines_drug_s_schedule() -> None:
    bundle = bundle_of_note(
        "MEDICATIONS:\nHeparin 5,000 units SC 12h\nAcolarjnophen 650 mg PO q6h PRN\n"
        "Metformin 500 mg tablet\nTake 2 tablets by mouth twice daily"
    )
    timings = {
        statement["medicationCodeableConcept"]["text"]: statement["dosage"][0].get("timing")
        for statement in resources_of(bundle, "MedicationStatement")
    }
    assert timings == {
        "Heparin": None,
        "Metformin": {
            "repeat": {"frequency": 2, "period": 1, "periodUnit": "d"},
            "code": {"text": "twice daily"},
        },
    }


def test_boxes_in_answer_columns_say_nothing_of_their_item() -> None:
    bundle = bundle_of_note(
        "                                                      Yes   No   Unsure\n"
        "Have you had a stroke?                                [ ]   [X]   [ ]\n"
        "Stroke                        ___     _X_\nDiabetes                      _X_     ___\n"
        "4. Do you have a long-term health problem with heart disease, lung disease,\n"
        "   asthma, or anemia?                                 [ ]   [X]   [ ]\n"
        "5. Do you have allergies to medications, food or latex?  [X]   [ ]   [ ]\n"
        "   If yes, please list: eggs (hives)\n"
        "PMH: [X] HTN [ ] DM"
    )
    assert condition_codes(bundle) == {"I10": "active/confirmed"}
    assert reactions(bundle) == {"eggs": ["hives"]}


def test_allergy_columns_printed_without_bars() -> None:
    bundle = bundle_of_note(
        "Allergen / Drug              Type    Reaction                 Severity\n"
        "penicillin                   A       anaphylaxis              Severe\n"
        "ciprofloxacin                I       nausea                   Mild\n\n"
        "Medications: lisinopril 10 mg daily"
    )
    assert sorted(allergies(bundle)) == ["ciprofloxacin", "penicillin"]
    assert medications(bundle) == {"lisinopril": ("MedicationStatement", "active")}
    assert condition_codes(bundle) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SURGERIES (list with year): Cholecystectomy 2011",
         [("Procedure", "Cholecystectomy", "2011")]),
        ("Previous surgeries: appendectomy 1975; right TKA 2022",
         [("Procedure", "appendectomy", "1975"), ("Procedure", "right TKA", "2022")]),
        ("Prior operations: appendectomy 1975, cholecystectomy 2011",
         [("Procedure", "appendectomy", "1975"), ("Procedure", "cholecystectomy", "2011")]),
    ],
    ids=["a-label-with-a-remark", "previous-surgeries", "prior-operations"],
)  # fmt: skip
def test_a_forms_surgeries(text: str, expected: list) -> None:
    assert procedures(bundle_of_note(text)) == expected


def test_the_heading_of_answer_columns_says_what_each_tick_means() -> None:
    bundle = bundle_of_note(
        "                                                      Yes   No   Unsure\n"
        "Do you have sleep apnea or use CPAP?                  [X]   [ ]   [ ]\n"
        "Have you had a stroke?                                [ ]   [X]   [ ]\n\n"
        "Home Medication          Dose               Continue   Stop   Hold   New\n"
        "Metformin                1000 mg PO BID       [X]       [ ]    [ ]    [ ]\n"
        "Ibuprofen                400 mg PO PRN        [ ]       [X]    [ ]    [ ]\n"
        "Lisinopril               10 mg daily          [ ]       [ ]    [X]    [ ]\n"
        "Benzonatate              100 mg PO TID PRN    [ ]       [ ]    [ ]    [X]\n"
        "Warfarin                 2 mg daily           [ ]       [ ]    [ ]    [ ]\n\n"
        "                                          Continue  Hold  Changed\n"
        "Amlodipine 5 mg PO daily                    [ ]     [ ]    [X]\n"
        "   -> now Amlodipine 10 mg PO daily"
    )
    assert condition_codes(bundle) == {"G47.30": "active/confirmed"}
    assert medications(bundle) == {
        "metformin": ("MedicationStatement", "active"),
        "ibuprofen": ("MedicationStatement", "stopped"),
        "lisinopril": ("MedicationStatement", "on-hold"),
        "benzonatate": ("MedicationStatement", "active"),
        "amlodipine": ("MedicationStatement", "active"),
    }
    doses = {
        statement["medicationCodeableConcept"]["text"]: statement["dosage"][0]["doseAndRate"][0][
            "doseQuantity"
        ]["value"]
        for statement in resources_of(bundle, "MedicationStatement")
    }
    assert doses["Amlodipine"] == 10  # the changed row's old dose is not the patient's


def test_a_question_answered_by_a_pair_of_boxes_after_its_words() -> None:
    bundle = bundle_of_note(
        "Have you had a stroke?      Yes \u2610  No \u2611\n"
        "Have you had a seizure?     Y  (N)\n"
        "Do you have asthma?         Yes [X]  No [ ]"
    )
    assert condition_codes(bundle) == {"J45.909": "active/confirmed"}


def test_a_mark_under_an_answer_columns_label() -> None:
    bundle = bundle_of_note(
        "                                              YES   NO   N/A\n"
        "Sleep apnea / CPAP                             X\n"
        "Diabetic                                             X\n"
        "Asthma                                                    X\n"
        "History of stroke                                    X\n"
    )
    assert condition_codes(bundle) == {"G47.30": "active/confirmed"}


@pytest.mark.parametrize(
    ("action", "last_row"),
    [
        ("Stop", ""),
        ("Hold", "\nMetformin 500 mg BID                         [X]       [ ]     [ ]"),
    ],
)
def test_a_ticked_stop_or_hold_reaches_no_drug_below_its_row(action: str, last_row: str) -> None:
    bundle = bundle_of_note(
        f"Medication                                 Continue   {action}   Changed\n"
        "Ibuprofen 600 mg PO daily                    [ ]       [X]     [ ]\n"
        "Amlodipine 5 mg PO daily                     [ ]       [ ]     [X]\n"
        "   -> now Amlodipine 10 mg PO daily" + last_row
    )
    assert medications(bundle) == {
        "ibuprofen": ("MedicationStatement", "stopped" if action == "Stop" else "on-hold"),
        "amlodipine": ("MedicationStatement", "active"),
    } | ({"metformin": ("MedicationStatement", "active")} if last_row else {})


def test_an_allergy_line_ends_at_the_next_sections_title_run_on_with_column_names() -> None:
    # a form as a PDF's text gives it: no blank lines, the columns' spaces closed up
    bundle = bundle_of_note(
        "ALLERGIES: [ ] NKDA [X] penicillin - hives\nLatex allergy? [ ] Yes [X] No\n"
        "CURRENT MEDICATIONS Dose Continue Stop Hold\nLisinopril 10 mg daily [X] [ ] [ ]\n"
        "Ibuprofen 400 mg PRN [ ] [X] [ ]"
    )
    assert reactions(bundle) == {"penicillin": ["hives"]}
    assert medications(bundle) == {
        "lisinopril": ("MedicationStatement", "active"),
        "ibuprofen": ("MedicationStatement", "stopped"),
    }


@pytest.mark.parametrize(
    "text",
    [
        "Transthoracic echocardiogram: LVEF 55%, mild left atrial enlargement.",
        "A transthoracic echocardiogram showed an LVEF of 55%, grade I diastolic dysfunction.",
        "Echo: EF 55%.",
    ],
)
def test_an_ejection_fraction_in_prose_is_an_imaging_observation(text: str) -> None:
    """Regression: 'LVEF 55%' in a discharge summary's course or a consult letter was no
    Observation (LOINC 10230-1 Left ventricular Ejection fraction, category imaging)."""
    [observation] = resources_of(bundle_of_note(text), "Observation")
    assert observation["code"]["coding"][0]["code"] == "10230-1"
    assert observation["category"][0]["coding"][0]["code"] == "imaging"
    assert (observation["valueQuantity"]["value"], observation["valueQuantity"]["code"]) == (
        55,
        "%",
    )
