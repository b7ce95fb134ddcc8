/**
 * A self-signed CA certificate (EC P-256, valid until 2126) for tests that need CA data node can
 * load. Only the certificate: its key was thrown away, so nothing can be signed with it.
 */
export const TEST_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIUWY+Z1K673bs2oxoJX5kNFrnq380wCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMbWNpYy10ZXN0LWNhMCAXDTI2MTIwMjAyMTgwN1oYDzIxMjYx
MTA4MDIxODA3WjAXMRUwEwYDVQQDDAxtY2ljLXRlc3QtY2EwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAARLmcm0M6A0pRunFO6yTIKkUvEesyMQC+KZBFeJXSyBDPEo
GSiMn+cTFbU2um32vAsxml4mnajHj7fTAlwibQkuo1MwUTAdBgNVHQ4EFgQUbQ3t
Sx42ZhxpzfVBS9JcA/GzXpQwHwYDVR0jBBgwFoAUbQ3tSx42ZhxpzfVBS9JcA/Gz
XpQwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiBW3Td9eHZyYVk5
Ptkb4IM9DWPtzuASZQmAi/1eOlK4VgIhANC4Yw2GXDlDKyynFez5MIo3526W9Fre
a3mgecn1b/VY
-----END CERTIFICATE-----
`;
