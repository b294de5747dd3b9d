#!/usr/bin/python3
"""What a PKCS#11 token holds, read through the module itself with ctypes (not through dkim-relay):
one JSON line per object, {"class": "private"|"public"|..., "id": hex CKA_ID, "label": CKA_LABEL}.

    token_objects.py MODULE TOKEN_LABEL PIN_FILE

SoftHSM2 needs SOFTHSM2_CONF in the environment. Runs as its own process so that the test's process
never holds the token open."""
import ctypes
import json
import sys

CKF_SERIAL_SESSION = 0x4
CKU_USER = 1
CKA_CLASS, CKA_LABEL, CKA_ID = 0x0, 0x3, 0x102
CLASSES = {0: "data", 1: "certificate", 2: "public", 3: "private", 4: "secret"}
ulong = ctypes.c_ulong


class Attribute(ctypes.Structure):
    _fields_ = [("type", ulong), ("value", ctypes.c_void_p), ("length", ulong)]


def check(rv, what):
    if rv != 0:
        raise SystemExit(f"{what} failed: CKR 0x{rv:x}")


def main():
    module, label, pin_file = sys.argv[1:4]
    pin = open(pin_file).read().strip().encode()
    lib = ctypes.CDLL(module)
    check(lib.C_Initialize(None), "C_Initialize")
    count = ulong(0)
    check(lib.C_GetSlotList(1, None, ctypes.byref(count)), "C_GetSlotList")
    slots = (ulong * count.value)()
    check(lib.C_GetSlotList(1, slots, ctypes.byref(count)), "C_GetSlotList")
    slot = None
    for candidate in slots[:count.value]:
        info = ctypes.create_string_buffer(1024)  # CK_TOKEN_INFO starts with label[32], blank-padded
        check(lib.C_GetTokenInfo(ulong(candidate), info), "C_GetTokenInfo")
        if info.raw[:32].decode().rstrip() == label:
            slot = candidate
    if slot is None:
        raise SystemExit(f"no token labelled {label}")
    session = ulong(0)
    check(lib.C_OpenSession(ulong(slot), ulong(CKF_SERIAL_SESSION), None, None, ctypes.byref(session)),
          "C_OpenSession")
    check(lib.C_Login(session, ulong(CKU_USER), pin, ulong(len(pin))), "C_Login")
    check(lib.C_FindObjectsInit(session, None, ulong(0)), "C_FindObjectsInit")
    handles = (ulong * 1024)()
    found = ulong(0)
    check(lib.C_FindObjects(session, handles, ulong(1024), ctypes.byref(found)), "C_FindObjects")
    check(lib.C_FindObjectsFinal(session), "C_FindObjectsFinal")
    for handle in handles[:found.value]:
        out = {}
        for name, kind in (("class", CKA_CLASS), ("label", CKA_LABEL), ("id", CKA_ID)):
            attribute = Attribute(kind, None, 0)
            if lib.C_GetAttributeValue(session, ulong(handle), ctypes.byref(attribute), ulong(1)) != 0:
                continue
            buffer = ctypes.create_string_buffer(max(1, attribute.length))
            attribute.value = ctypes.cast(buffer, ctypes.c_void_p)
            check(lib.C_GetAttributeValue(session, ulong(handle), ctypes.byref(attribute), ulong(1)),
                  "C_GetAttributeValue")
            raw = buffer.raw[:attribute.length]
            if name == "class":
                out[name] = CLASSES.get(int.from_bytes(raw, "little"), "other")
            elif name == "label":
                out[name] = raw.decode(errors="replace")
            else:
                out[name] = raw.hex()
        print(json.dumps(out))
    lib.C_Logout(session)
    lib.C_CloseSession(session)
    lib.C_Finalize(None)


if __name__ == "__main__":
    main()
