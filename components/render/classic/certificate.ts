// Renders the "certificate" step: it writes the uploaded certificate and private key, which it
// reads from standard input, to the paths that nginx is configured with.
import type { ClassicHostOptions, ClassicHostScript, ClassicSecret } from "../classicScripts";
import { bash, bashConstant, renderScript } from "../host/script";
import { STATE_FUNCTIONS, stateConstants } from "../host/state";
import { RECORDED_FILES_DELETE_BODY } from "./recordedFiles";
import { SECRET_FUNCTIONS, renderSecretReads } from "./secrets";

/** Mode of the certificate file and of the private key file; both are owned by root:root. */
export const CERTIFICATE_MODE = "644";
export const PRIVATE_KEY_MODE = "640";

const CERTIFICATE_SECRETS: readonly ClassicSecret[] = ["certificatePem", "privateKeyPem"];

const CERTIFICATE_CREATE_BODY = bash`
# Creates the missing parent directories of file $1, outermost first, with mode 0755, and
# records each one so that delete removes it when it is empty.
create_parent_directories() {
    local directory missing=()
    directory="$(dirname -- "$1")"
    while [[ ! -e "$directory" ]]; do
        missing=("$directory" "\${missing[@]}")
        directory="$(dirname -- "$directory")"
    done
    for directory in "\${missing[@]}"; do
        add_state_line "$STATE_FILE" "directory \${directory}"
        mkdir -m 0755 -- "$directory"
        record_change "created \${directory}"
    done
}

# Fails unless the decoded secret $1 has a line that matches the extended regular expression $2.
# grep reads its whole input, so base64 never writes to a closed pipe.
require_pem_line() {
    if ! decode_secret "$1" | grep -E -- "$2" >/dev/null; then
        fail "\${1} is not in the expected PEM format: it has no line matching \${2}"
    fi
}

# Writes the decoded secret $1 to path $2, owned by root:root with mode $3, unless the file has
# that content, owner and mode already. The secret goes to a temporary file in the same
# directory, which mktemp creates with mode 0600, and a rename puts it in place.
install_secret_file() {
    local secret="$1" path="$2" mode="$3"
    if [[ -f "$path" && ! -L "$path" ]] && cmp -s -- <(decode_secret "$secret") "$path" &&
        [[ "$(stat -c '%U:%G %a' -- "$path")" == "root:root \${mode}" ]]; then
        echo "\${STEP}: \${path} is up to date"
        return 0
    fi
    create_parent_directories "$path"
    pending_file="$(mktemp "$(dirname -- "$path")/.$(basename -- "$path").XXXXXX")"
    decode_secret "$secret" >"$pending_file"
    chown root:root "$pending_file"
    chmod "$mode" "$pending_file"
    add_state_line "$STATE_FILE" "file \${path}"
    mv -f -- "$pending_file" "$path"
    pending_file=""
    record_change "wrote \${path} (owner root:root, mode \${mode})"
}

pending_file=""
trap 'if [[ -n "$pending_file" ]]; then rm -f -- "$pending_file"; fi' EXIT

command -v openssl >/dev/null || fail "openssl not found; the classic-packages step installs it, so run that step first"

# Both secrets are checked before the first change.
require_pem_line certificatePem '^-----BEGIN CERTIFICATE-----'
# nginx cannot read an encrypted key without its passphrase, so only unencrypted keys pass.
require_pem_line privateKeyPem '^-----BEGIN (RSA |EC )?PRIVATE KEY-----'
if ! certificate_public_key="$(decode_secret certificatePem | openssl x509 -noout -pubkey)"; then
    fail "openssl could not read certificatePem as an X.509 certificate"
fi
if ! key_public_key="$(decode_secret privateKeyPem | openssl pkey -pubout)"; then
    fail "openssl could not read privateKeyPem as a private key"
fi
# The key belongs to the certificate when both yield the same public key.
if [[ "$certificate_public_key" != "$key_public_key" ]]; then
    fail "privateKeyPem is not the key of certificatePem (their public keys differ); upload the matching pair"
fi

install_secret_file certificatePem "$CERTIFICATE_PATH" "$CERTIFICATE_MODE"
install_secret_file privateKeyPem "$PRIVATE_KEY_PATH" "$PRIVATE_KEY_MODE"
`;

/**
 * Renders the certificate step. The key gets root:root and mode 0640: the nginx master process
 * runs as root and reads it before it starts its workers.
 * NOTE: jitsi-meet-turnserver's postinst also points coturn at these paths. A coturn that does
 * not run as root cannot read this key; that combination has not been tested.
 */
export function renderCertificateScript(options: ClassicHostOptions): ClassicHostScript {
    const step = "certificate";
    const failureHint = "Check that the directories of the certificate and key paths are writable.";
    const constants = stateConstants("certificate.state");
    return {
        name: step,
        stdinSecrets: CERTIFICATE_SECRETS,
        create: renderScript({
            step,
            action: "create",
            failureHint,
            constants: [
                ...constants,
                bashConstant("STDIN_SECRETS", CERTIFICATE_SECRETS),
                bashConstant("CERTIFICATE_PATH", options.certificatePath),
                bashConstant("CERTIFICATE_MODE", CERTIFICATE_MODE),
                bashConstant("PRIVATE_KEY_PATH", options.privateKeyPath),
                bashConstant("PRIVATE_KEY_MODE", PRIVATE_KEY_MODE),
            ],
            body: [SECRET_FUNCTIONS, renderSecretReads(CERTIFICATE_SECRETS), STATE_FUNCTIONS, CERTIFICATE_CREATE_BODY],
        }),
        delete: renderScript({
            step,
            action: "delete",
            failureHint,
            constants,
            body: [STATE_FUNCTIONS, RECORDED_FILES_DELETE_BODY],
        }),
    };
}
