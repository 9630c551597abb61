/*
 * quire keys generate -o KEYFILE [--key-id ID]
 * quire keys show KEYFILE [--json]
 * Key files hold secrets: nothing here ever prints the KEK or the signing key.
 */
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qr/crypt.h"

void qr_cmd_keys_usage(FILE *f)
{
    fprintf(f, "usage: quire keys generate -o KEYFILE [--key-id ID]\n"
               "       quire keys show KEYFILE [--json]\n"
               "\n"
               "generate  writes a new key file (mode 0600; never overwrites an existing file)\n"
               "          holding a random key-encryption key (KEK) with its key id and an\n"
               "          Ed25519 signing key pair. This is the file every --key-file option\n"
               "          takes. Keep it secret; give the reading app only the public key.\n"
               "  -o, --output KEYFILE  where to write it\n"
               "  --key-id ID           the KEK's id (1-64 of A-Z a-z 0-9 . _ : -);\n"
               "                        default: kek-<16 random hex digits>\n"
               "\n"
               "show      prints the key id and the Ed25519 public key (base64 and hex),\n"
               "          never the secrets. Refuses key files that group or others can read.\n"
               "  --json                print them as JSON on stdout\n"
               "\n"
               "Key file format: docs/format.md \"Keys\".\n");
}

static int keys_generate(int argc, char **argv)
{
    const char *out_path = NULL;
    const char *kek_id = NULL;
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"key-id", required_argument, NULL, 'k'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out_path = optarg;
            break;
        case 'k':
            kek_id = optarg;
            break;
        default:
            return qr_cli_usage_error("keys", "unknown option");
        }
    }
    if (optind != argc)
        return qr_cli_usage_error("keys", "generate takes no arguments besides its options");
    if (!out_path)
        return qr_cli_usage_error("keys", "-o KEYFILE is required");
    qr_error err = QR_ERROR_INIT;
    qr_keyring *k = NULL;
    int rc = qr_keyring_generate(&k, kek_id, &err);
    if (rc == 0)
        rc = qr_keyring_save(k, out_path, &err);
    if (rc == 0)
        fprintf(stderr, "quire: wrote key file %s (key id %s); keep it secret\n", out_path,
                qr_keyring_kek_id(k));
    qr_keyring_free(k);
    return rc < 0 ? qr_cli_fail(&err) : 0;
}

static int keys_show(int argc, char **argv)
{
    bool json = false;
    static const struct option longopts[] = {{"json", no_argument, NULL, 'J'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'J':
            json = true;
            break;
        default:
            return qr_cli_usage_error("keys", "unknown option");
        }
    }
    if (optind != argc - 1)
        return qr_cli_usage_error("keys", "show takes exactly one KEYFILE");
    qr_error err = QR_ERROR_INIT;
    qr_keyring *k = NULL;
    if (qr_keyring_load(&k, argv[optind], &err) < 0)
        return qr_cli_fail(&err);
    const uint8_t *pk = qr_keyring_public_key(k);
    char hex[65];
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2hex(hex, sizeof(hex), pk, 32);
    sodium_bin2base64(b64, sizeof(b64), pk, 32, sodium_base64_VARIANT_ORIGINAL);
    int rc = 0;
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "kek_id", qr_keyring_kek_id(k), "sign_alg",
                              "ed25519", "sign_public", b64, "sign_public_hex", hex);
        char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
        if (s)
            puts(s);
        else
            rc = 1;
        free(s);
        json_decref(o);
    } else {
        printf("key id            %s\n", qr_keyring_kek_id(k));
        printf("public key        %s (Ed25519, base64)\n", b64);
        printf("public key (hex)  %s\n", hex);
    }
    qr_keyring_free(k);
    return rc;
}

int qr_cmd_keys(int argc, char **argv)
{
    if (argc < 2)
        return qr_cli_usage_error("keys", "expected `generate` or `show`");
    if (strcmp(argv[1], "generate") == 0)
        return keys_generate(argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return keys_show(argc - 1, argv + 1);
    return qr_cli_usage_error("keys", "unknown keys command '%s' (generate or show)", argv[1]);
}
