// Renders the "apt-repositories" step: the sources files and signing keyrings of the Jitsi and
// Prosody apt repositories.
import type { ClassicHostScript } from "../classicScripts";
import { bash, bashConstant, renderScript, shellQuote } from "../host/script";
import { STATE_FUNCTIONS, stateConstants } from "../host/state";
import { RECORDED_FILES_DELETE_BODY } from "./recordedFiles";

/** An apt repository that the apt-repositories step adds, in one-line sources format. */
export interface AptRepository {
    readonly sourcesFile: string;
    /** Binary OpenPGP keyring that the sources line names with signed-by. */
    readonly keyring: string;
    readonly keyUrl: string;
    readonly uri: string;
    /** Suite, or undefined for the running release's codename (VERSION_CODENAME in /etc/os-release). */
    readonly suite: string | undefined;
    readonly components: string;
}

// The file names, key URLs and suites are those of the Jitsi self-hosting guide
// (jitsi/handbook, docs/devops-guide/quickstart.md), so a host set up by hand before keeps
// identical paths and apt finds no conflicting Signed-By values for one repository.
export const JITSI_REPOSITORY: AptRepository = {
    sourcesFile: "/etc/apt/sources.list.d/jitsi-stable.list",
    keyring: "/usr/share/keyrings/jitsi-keyring.gpg",
    keyUrl: "https://download.jitsi.org/jitsi-key.gpg.key",
    uri: "https://download.jitsi.org",
    suite: "stable/",
    components: "",
};

export const PROSODY_REPOSITORY: AptRepository = {
    sourcesFile: "/etc/apt/sources.list.d/prosody-debian-packages.list",
    keyring: "/usr/share/keyrings/prosody-debian-packages.key",
    keyUrl: "https://prosody.im/files/prosody-debian-packages.key",
    uri: "http://packages.prosody.im/debian",
    suite: undefined,
    components: "main",
};

/** Seconds that curl may spend on one attempt to download a repository key, and attempts in all. */
const KEY_DOWNLOAD_MAX_SECONDS = 60;
const KEY_DOWNLOAD_ATTEMPTS = 4;

const MANAGED_FILE_HEADER =
    "# Written by the jitsi-meet Pulumi program (host setup step \"apt-repositories\"); its delete script removes this file.";

/** Renders the add_repository call for `repository`; bash expands the codename at run time. */
function renderAddRepository(repository: AptRepository): string {
    const words = ["deb", `[signed-by=${repository.keyring}]`, repository.uri, repository.suite ?? "", repository.components];
    // The sources line is a double-quoted bash word, so its fixed parts must need no quoting.
    for (const word of [...words, repository.sourcesFile, repository.keyUrl]) {
        if (!/^[A-Za-z0-9._:/[\]=+-]*$/.test(word)) {
            throw new Error(`renderClassicHostScripts: repository value ${JSON.stringify(word)} contains characters that need quoting`);
        }
    }
    const suite = repository.suite ?? '${codename}';
    const line = ["deb", `[signed-by=${repository.keyring}]`, repository.uri, suite, repository.components]
        .filter((word) => word !== "").join(" ");
    return `add_repository ${shellQuote(repository.sourcesFile)} ${shellQuote(repository.keyring)} ${shellQuote(repository.keyUrl)} "${line}"`;
}

const APT_REPOSITORIES_CREATE_BODY = bash`
command -v curl >/dev/null || fail "curl not found; the classic-packages step installs it, so run that step first"
command -v gpg >/dev/null || fail "gpg not found; the classic-packages step installs gnupg, so run that step first"

# The Prosody repository has one suite per Debian release, named by its codename.
codename="$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release | tr -d "\"'")"
if [[ ! "$codename" =~ ^[a-z]+$ ]]; then
    fail "could not read the release codename (VERSION_CODENAME) from /etc/os-release, found '\${codename}'; the Prosody repository needs it, such as bookworm"
fi

# gpg gets a private home directory, so that it neither creates nor reads root's keyrings.
work_dir="$(mktemp -d)"
trap 'rm -rf -- "$work_dir"' EXIT
export GNUPGHOME="\${work_dir}/gnupg"
mkdir -m 0700 -- "$GNUPGHOME"

sources_files=()
keyrings=()
key_urls=()
sources_lines=()

add_repository() {
    sources_files+=("$1")
    keyrings+=("$2")
    key_urls+=("$3")
    sources_lines+=("$4")
}

# Prints the fingerprints of the primary keys in keyring file $1, space-separated; fails when
# the file holds no OpenPGP public key.
read_fingerprints() {
    local fingerprints
    fingerprints="$(gpg --batch --show-keys --with-colons -- "$1" 2>/dev/null |
        awk -F: '$1 == "pub" { primary = 1; next } $1 == "fpr" && primary { print $10; primary = 0 }' | paste -sd ' ')"
    [[ -n "$fingerprints" ]] && echo "$fingerprints"
}

# Downloads the key at URL $2 into the binary keyring $1 that signed-by names, unless $1 already
# holds a key. The keyring is written to a temporary file first and renamed into place.
# NOTE: the key fingerprints are not pinned, so this trusts whatever key the HTTPS server sends,
# and a keyring that exists is kept even after the repository rotates its key.
install_keyring() {
    local keyring="$1" url="$2" host download="\${work_dir}/download" converted="\${work_dir}/keyring" error fingerprints temp
    if [[ -f "$keyring" ]] && fingerprints="$(read_fingerprints "$keyring")"; then
        echo "\${STEP}: \${keyring} is present, with key \${fingerprints}"
        return 0
    fi

    host="\${url#https://}"
    host="\${host%%/*}"
    rm -f -- "$download" "$converted"
    if ! error="$(curl --fail --silent --show-error --location --proto =https --tlsv1.2 \
        --connect-timeout 15 --max-time "$KEY_DOWNLOAD_MAX_SECONDS" \
        --retry "$((KEY_DOWNLOAD_ATTEMPTS - 1))" --retry-delay 5 --retry-all-errors \
        --output "$download" -- "$url" 2>&1)"; then
        fail "could not download the repository signing key \${url}: $(printf '%s\n' "$error" | tail -n 1). Check that this host resolves and reaches \${host} over HTTPS (DNS, firewall, HTTP proxy), then run again."
    fi

    # The Jitsi key is ASCII-armored; a key without armor is used as it is.
    if grep -q -- '^-----BEGIN PGP PUBLIC KEY BLOCK-----' "$download"; then
        gpg --batch --yes --dearmor --output "$converted" -- "$download"
    else
        cp -- "$download" "$converted"
    fi
    if ! fingerprints="$(read_fingerprints "$converted")"; then
        fail "the file downloaded from \${url} holds no OpenPGP public key; check that \${url} is the repository's key"
    fi

    add_state_line "$STATE_FILE" "file \${keyring}"
    temp="$(mktemp "$(dirname -- "$keyring")/.$(basename -- "$keyring").XXXXXX")"
    if ! { cp -- "$converted" "$temp" && chmod 0644 "$temp" && mv -f -- "$temp" "$keyring"; }; then
        rm -f -- "$temp"
        fail "could not write \${keyring}"
    fi
    record_change "installed \${keyring} from \${url}, with key \${fingerprints}"
}
`;

const APT_REPOSITORIES_CREATE_MAIN = bash`
# The sources files are written before the keys are downloaded. Until a repository's keyring
# exists, apt-get update reports a reachable repository as not signed and exits with an error,
# so a failed download fails this step; a second run or the delete script clears that state.
for index in "\${!sources_files[@]}"; do
    path="\${sources_files[index]}"
    content="$(printf '%s\n%s\n' "$HEADER" "\${sources_lines[index]}")"$'\n'
    if [[ -f "$path" ]] && cmp -s -- "$path" <(printf '%s' "$content"); then
        echo "\${STEP}: \${path} is up to date"
    else
        add_state_line "$STATE_FILE" "file \${path}"
        write_file "$path" 0644 "$content"
        record_change "wrote \${path}"
    fi
done

for index in "\${!keyrings[@]}"; do
    install_keyring "\${keyrings[index]}" "\${key_urls[index]}"
done
`;

export function renderAptRepositoriesScript(): ClassicHostScript {
    const step = "apt-repositories";
    const failureHint =
        `Check network access to ${JITSI_REPOSITORY.keyUrl} and ${PROSODY_REPOSITORY.keyUrl}, ` +
        "and that /etc/apt/sources.list.d and /usr/share/keyrings are writable.";
    const constants = stateConstants("apt-repositories.state");
    return {
        name: step,
        stdinSecrets: [],
        create: renderScript({
            step,
            action: "create",
            failureHint,
            constants: [
                ...constants,
                bashConstant("HEADER", MANAGED_FILE_HEADER),
                bashConstant("KEY_DOWNLOAD_MAX_SECONDS", KEY_DOWNLOAD_MAX_SECONDS),
                bashConstant("KEY_DOWNLOAD_ATTEMPTS", KEY_DOWNLOAD_ATTEMPTS),
            ],
            body: [
                STATE_FUNCTIONS,
                APT_REPOSITORIES_CREATE_BODY,
                renderAddRepository(JITSI_REPOSITORY),
                renderAddRepository(PROSODY_REPOSITORY),
                APT_REPOSITORIES_CREATE_MAIN,
            ],
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
