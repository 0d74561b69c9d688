// Renders the bash scripts that turn a Debian host into a Jitsi Meet server from the Jitsi
// Debian packages (install mode "classic"): base packages, kernel settings, firewall, the Jitsi
// and Prosody apt repositories, the uploaded certificate, the debconf answers and the packages.
// Like the Docker-mode scripts, each runs as root through `bash -c`, records what it changed
// under HOST_STATE_DIR, and has a delete script that undoes exactly that. Secrets reach the
// scripts on standard input only, so they appear in no script text, command line or output.
import {
    APT_LOCK_TIMEOUT_SECONDS,
    HOST_STATE_DIR,
    bash,
    bashConstant,
    renderDockerHostScripts,
    renderScript,
    shellQuote,
    type HostScript,
} from "./hostScripts";

export type { HostScript } from "./hostScripts";

/** Settings of the classic-mode host setup. */
export interface ClassicHostOptions {
    /** Meeting domain, e.g. meet.example.org; the packages name their nginx site and XMPP host after it. */
    readonly domain: string;
    readonly sshPort: number;
    /** UDP port of Jitsi Videobridge; the packages use 10000. */
    readonly jvbPort: number;
    /** Whether the host firewall (ufw) is managed. */
    readonly firewall: boolean;
    /** Path of the uploaded certificate on the host; debconf's jitsi-meet/cert-path-crt points here. */
    readonly certificatePath: string;
    /** Path of the uploaded private key on the host; debconf's jitsi-meet/cert-path-key points here. */
    readonly privateKeyPath: string;
}

/** Names of the secrets a script reads from standard input, one base64-encoded value per line, in this order. */
export type ClassicSecret = "certificatePem" | "privateKeyPem" | "jicofoAuthPassword" | "jvbSecret";

/** One classic-mode host setup step. */
export interface ClassicHostScript extends HostScript {
    /** Secrets that the create script reads from standard input; delete scripts read none. */
    readonly stdinSecrets: readonly ClassicSecret[];
}

/** Ports of the nginx site that jitsi-meet-web-config writes; the packages fix them. */
export const CLASSIC_HTTP_PORT = 80;
export const CLASSIC_HTTPS_PORT = 443;

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

/** Mode of the certificate file and of the private key file; both are owned by root:root. */
export const CERTIFICATE_MODE = "644";
export const PRIVATE_KEY_MODE = "640";

/** Seconds that curl may spend on one attempt to download a repository key, and attempts in all. */
const KEY_DOWNLOAD_MAX_SECONDS = 60;
const KEY_DOWNLOAD_ATTEMPTS = 4;

/**
 * Returns the scripts of the classic-mode host setup in the order they must run:
 * classic-packages, sysctl, firewall (only when `options.firewall`), apt-repositories,
 * certificate, preseed and jitsi-meet. The sysctl and firewall steps are the Docker-mode ones.
 */
export function renderClassicHostScripts(options: ClassicHostOptions): ClassicHostScript[] {
    checkClassicHostOptions(options);
    const dockerScripts = renderDockerHostScripts({
        sshPort: options.sshPort,
        httpPort: CLASSIC_HTTP_PORT,
        httpsPort: CLASSIC_HTTPS_PORT,
        jvbPort: options.jvbPort,
        // Only the Docker-mode directories step reads configDir, and classic mode does not use it.
        configDir: "/opt/jitsi-meet",
        firewall: options.firewall,
    });
    const shared = sharedShellFunctions(dockerScripts);

    const scripts: ClassicHostScript[] = [
        renderClassicPackagesScript(options.firewall, shared),
        withoutSecrets(pickScript(dockerScripts, "sysctl")),
    ];
    if (options.firewall) {
        // NOTE: these are the Docker-mode rules: SSH, 80/tcp, 443/tcp and the JVB UDP port. The
        // Jitsi self-hosting guide also opens coturn's 3478/udp (STUN) and 5349/tcp (TURN over
        // TCP when UDP is blocked), which stay closed here.
        scripts.push(withoutSecrets(pickScript(dockerScripts, "firewall")));
    }
    scripts.push(
        renderAptRepositoriesScript(shared),
        renderCertificateScript(options, shared),
        renderPreseedScript(options, shared),
        renderJitsiMeetScript(shared),
    );
    return scripts;
}

function withoutSecrets(script: HostScript): ClassicHostScript {
    return { ...script, stdinSecrets: [] };
}

function pickScript(scripts: readonly HostScript[], name: string): HostScript {
    const script = scripts.find((candidate) => candidate.name === name);
    if (script === undefined) {
        throw new Error(`renderClassicHostScripts: renderDockerHostScripts returned no "${name}" step`);
    }
    return script;
}

// --- options ----------------------------------------------------------------------------------

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function checkClassicHostOptions(options: ClassicHostOptions): void {
    const labels = options.domain.split(".");
    if (options.domain.length > 253 || labels.length < 2 || !labels.every((label) => DNS_LABEL.test(label))) {
        throw new Error(
            `renderClassicHostScripts: invalid domain ${JSON.stringify(options.domain)}; expected a lower-case ` +
            "DNS name with at least two labels of letters, digits and hyphens, such as meet.example.org",
        );
    }
    for (const key of ["sshPort", "jvbPort"] as const) {
        const port = options[key];
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
            throw new Error(`renderClassicHostScripts: invalid ${key} ${port}; expected a whole number from 1 to 65535`);
        }
    }
    for (const key of ["certificatePath", "privateKeyPath"] as const) {
        checkFilePath(key, options[key]);
    }
    if (options.certificatePath === options.privateKeyPath) {
        throw new Error(
            `renderClassicHostScripts: certificatePath and privateKeyPath are both ${options.certificatePath}; ` +
            "the certificate and the key need separate files",
        );
    }
}

/**
 * Throws unless `path` is an absolute file path that debconf can store as one word: no
 * whitespace, quotes, shell metacharacters, empty, . or .. components, and no trailing slash.
 */
function checkFilePath(key: string, path: string): void {
    const components = path.split("/").slice(1);
    const valid = path.startsWith("/") && components.length >= 2 &&
        components.every((part) => part !== "" && part !== "." && part !== "..") &&
        !/[\s'"$`\\\x00-\x1f\x7f]/.test(path);
    if (!valid) {
        throw new Error(
            `renderClassicHostScripts: invalid ${key} ${JSON.stringify(path)}; expected an absolute file path ` +
            "below a directory, without spaces, quotes, empty, . or .. components, such as /etc/ssl/jitsi-meet/meet.example.org.crt",
        );
    }
}

// --- shell functions shared with the Docker-mode scripts --------------------------------------

/** Shell functions from the Docker-mode scripts that the classic steps run. */
interface SharedShellFunctions {
    /** add_state_line and remove_state_file, which read STATE_DIR. */
    readonly state: string;
    /**
     * is_installed, list_installed_packages, wait_for_apt_locks and run_apt_get, with the
     * NATIVE_ARCHITECTURE and APT_OPTIONS constants. They read APT_LOCK_TIMEOUT_SECONDS,
     * APT_ATTEMPTS and APT_RETRY_PAUSE_SECONDS.
     */
    readonly apt: string;
    /** The Docker-mode "packages" delete script, which removes what its state file records. */
    readonly dockerPackagesDelete: string;
}

/**
 * Takes the apt and state-file shell functions out of the rendered Docker-mode "packages"
 * scripts, because hostScripts.ts renders them into those scripts but does not export them.
 * Throws when a function is missing, so a rename in hostScripts.ts fails every render.
 * TODO: import the function blocks instead once hostScripts.ts exports them.
 */
function sharedShellFunctions(dockerScripts: readonly HostScript[]): SharedShellFunctions {
    const packages = pickScript(dockerScripts, "packages");
    const constants = ["NATIVE_ARCHITECTURE=", "readonly NATIVE_ARCHITECTURE", "readonly APT_OPTIONS="]
        .map((prefix) => extractLine(packages.create, prefix));
    return {
        state: ["add_state_line", "remove_state_file"]
            .map((name) => extractShellFunction(packages.create, name)).join("\n\n"),
        apt: [
            constants.join("\n"),
            ...["list_installed_packages", "is_installed", "list_apt_lock_holders", "wait_for_apt_locks", "run_apt_get"]
                .map((name) => extractShellFunction(packages.create, name)),
        ].join("\n\n"),
        dockerPackagesDelete: packages.delete,
    };
}

function extractLine(script: string, prefix: string): string {
    const line = script.split("\n").find((candidate) => candidate.startsWith(prefix));
    if (line === undefined) {
        throw new Error(`renderClassicHostScripts: no line starting with ${JSON.stringify(prefix)} in the Docker-mode packages script`);
    }
    return line;
}

/** Returns the top-level bash function `name` of `script` with the comment lines right above it. */
function extractShellFunction(script: string, name: string): string {
    const lines = script.split("\n");
    const start = lines.indexOf(`${name}() {`);
    const end = lines.indexOf("}", start);
    if (start < 0 || end < 0) {
        throw new Error(`renderClassicHostScripts: no shell function ${name} in the Docker-mode packages script`);
    }
    let first = start;
    while (first > 0 && lines[first - 1].startsWith("#")) {
        first--;
    }
    return lines.slice(first, end + 1).join("\n");
}

/**
 * Returns the Docker-mode "packages" delete script made over for step `step`: it removes the
 * packages that `stateFileName` records, keeps those that other installed packages still need,
 * and uses "apt-get remove", not purge, so configuration files stay. Only the step name, the
 * state file and the failure hint differ from the Docker-mode script. The body is shared
 * unchanged because hostScripts.ts does not export it.
 * TODO: render from an exported package-removal body once hostScripts.ts has one.
 */
function renderPackageRemovalScript(
    shared: SharedShellFunctions, step: string, stateFileName: string, failureHint: string,
): string {
    const lines = shared.dockerPackagesDelete.split("\n");
    const replace = (matches: (line: string) => boolean, replacement: (line: string) => string): void => {
        const index = lines.findIndex(matches);
        if (index < 0) {
            throw new Error("renderClassicHostScripts: the Docker-mode packages delete script changed its header or constants");
        }
        lines[index] = replacement(lines[index]);
    };
    replace((line) => line.startsWith("# Jitsi Meet host setup, step \"packages\", delete script."),
        (line) => line.replace("\"packages\"", `"${step}"`));
    replace((line) => line === bashConstant("STEP", "packages"), () => bashConstant("STEP", step));
    replace((line) => line === bashConstant("STATE_FILE", `${HOST_STATE_DIR}/packages.installed`),
        () => bashConstant("STATE_FILE", `${HOST_STATE_DIR}/${stateFileName}`));
    replace((line) => line.startsWith("readonly FAILURE_HINT="), () => bashConstant("FAILURE_HINT", failureHint));
    return lines.join("\n");
}

function aptConstants(): string[] {
    return [
        bashConstant("APT_LOCK_TIMEOUT_SECONDS", APT_LOCK_TIMEOUT_SECONDS),
        bashConstant("APT_ATTEMPTS", 3),
        bashConstant("APT_RETRY_PAUSE_SECONDS", 15),
    ];
}

function stateConstants(fileName: string): string[] {
    return [
        bashConstant("STATE_DIR", HOST_STATE_DIR),
        bashConstant("STATE_FILE", `${HOST_STATE_DIR}/${fileName}`),
    ];
}

// --- package installation --------------------------------------------------------------------

const PACKAGE_INSTALL_FUNCTIONS = bash`
# Installs those of the packages after "--" that are not installed yet, passing the words before
# "--" to apt-get install, after an apt-get update. Every package that apt-get added is recorded
# in STATE_FILE, also after a failed installation, so that delete can remove a partial one.
install_missing_packages() {
    local options=() missing=() package before after added install_status=0
    while [[ "$1" != -- ]]; do
        options+=("$1")
        shift
    done
    shift
    for package in "$@"; do
        if ! is_installed "$package"; then
            missing+=("$package")
        fi
    done
    if ((\${#missing[@]} == 0)); then
        echo "\${STEP}: $* already installed"
        return 0
    fi

    echo "\${STEP}: installing \${missing[*]}"
    before="$(list_installed_packages)"
    run_apt_get --update install -y "\${options[@]}" "\${missing[@]}" || install_status=$?
    after="$(list_installed_packages)"
    added="$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after"))"
    if [[ -n "$added" ]]; then
        while IFS= read -r package; do
            add_state_line "$STATE_FILE" "$package"
        done < <(printf '%s\n' "$added")
        record_change "installed $(printf '%s\n' "$added" | wc -l) package(s) for \${missing[*]}: $(printf '%s\n' "$added" | paste -sd ' ')"
    fi
    if ((install_status != 0)); then
        fail "could not install \${missing[*]}. \${FAILURE_HINT}"
    fi
}
`;

// --- classic-packages -------------------------------------------------------------------------

/**
 * Packages that the later steps run. curl and gnupg (gpg) fetch and convert the repository
 * keys, and ca-certificates lets curl and apt verify HTTPS. debconf-utils has
 * debconf-get-selections, openssl checks that the uploaded key matches the certificate, procps
 * has sysctl, and ufw is the firewall.
 */
function classicPackages(firewall: boolean): string[] {
    const packages = ["ca-certificates", "curl", "debconf-utils", "gnupg", "openssl", "procps"];
    if (firewall) {
        packages.push("ufw");
    }
    return packages;
}

function renderClassicPackagesScript(firewall: boolean, shared: SharedShellFunctions): ClassicHostScript {
    const step = "classic-packages";
    const failureHint =
        "Check the apt-get output above, network access to the Debian mirror in /etc/apt/sources.list.d/, " +
        "free disk space, and /var/log/apt/term.log.";
    const stateFileName = "classic-packages.installed";
    const constants = [...stateConstants(stateFileName), ...aptConstants()];
    return {
        name: step,
        stdinSecrets: [],
        create: renderScript({
            step,
            action: "create",
            failureHint,
            constants: [...constants, bashConstant("REQUIRED_PACKAGES", classicPackages(firewall))],
            body: [
                shared.state,
                shared.apt,
                PACKAGE_INSTALL_FUNCTIONS,
                bash`install_missing_packages --no-install-recommends -- "\${REQUIRED_PACKAGES[@]}"`,
            ],
        }),
        delete: renderPackageRemovalScript(shared, step, stateFileName, failureHint),
    };
}

// --- apt-repositories -------------------------------------------------------------------------

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

/*
 * Delete removes the sources files and keyrings that create wrote. A file that existed with the
 * same content before create is not in the record and stays.
 */
const RECORDED_FILES_DELETE_BODY = bash`
if [[ ! -f "$STATE_FILE" ]]; then
    echo "\${STEP}: \${STATE_FILE} does not exist, so the create script wrote no file"
    report_summary
    exit 0
fi

mapfile -t entries <"$STATE_FILE"
# Files come after their directories in the record, so walking backwards empties a directory
# before it is removed.
for ((index = \${#entries[@]} - 1; index >= 0; index--)); do
    kind="\${entries[index]%% *}"
    path="\${entries[index]#* }"
    case "$kind" in
        file)
            if [[ -e "$path" || -L "$path" ]]; then
                rm -f -- "$path"
                record_change "removed \${path}"
            fi
            ;;
        directory)
            if [[ ! -d "$path" ]]; then
                continue
            fi
            if [[ -n "$(find "$path" -mindepth 1 -maxdepth 1 -print -quit)" ]]; then
                echo "\${STEP}: keeping \${path}, because it is not empty"
            else
                rmdir -- "$path"
                record_change "removed the empty directory \${path}"
            fi
            ;;
    esac
done
remove_state_file "$STATE_FILE"
`;

function renderAptRepositoriesScript(shared: SharedShellFunctions): ClassicHostScript {
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
                shared.state,
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
            body: [shared.state, RECORDED_FILES_DELETE_BODY],
        }),
    };
}

// --- secrets on standard input ----------------------------------------------------------------

/*
 * Secrets stay in shell variables and pass to other programs only through pipes: printf and
 * [[ ]] are bash builtins, so no secret is in a command line, and no here-string or here-document
 * writes one to a temporary file.
 */
const SECRET_FUNCTIONS = bash`
declare -A secret_lines=()

# Reads the next line of standard input as the base64 encoding of secret $1.
read_secret_line() {
    local line=""
    if ! IFS= read -r line && [[ -z "$line" ]]; then
        fail "standard input ended before the line of \${1}; expected one base64 line per secret, in this order: \${STDIN_SECRETS[*]}"
    fi
    line="\${line%$'\r'}"
    if [[ ! "$line" =~ ^[A-Za-z0-9+/]+={0,2}$ ]]; then
        fail "the line of \${1} on standard input is empty or not base64"
    fi
    if ! printf '%s' "$line" | base64 -d >/dev/null 2>&1; then
        fail "the line of \${1} on standard input is not valid base64"
    fi
    secret_lines["$1"]="$line"
}

# Writes the decoded secret $1 to standard output, for a pipe or a process substitution.
decode_secret() {
    printf '%s' "\${secret_lines[$1]}" | base64 -d
}
`;

function renderSecretReads(secrets: readonly ClassicSecret[]): string {
    return [
        "# Every secret is read before the first change.",
        ...secrets.map((secret) => `read_secret_line ${secret}`),
    ].join("\n");
}

// --- certificate ------------------------------------------------------------------------------

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
function renderCertificateScript(options: ClassicHostOptions, shared: SharedShellFunctions): ClassicHostScript {
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
            body: [SECRET_FUNCTIONS, renderSecretReads(CERTIFICATE_SECRETS), shared.state, CERTIFICATE_CREATE_BODY],
        }),
        delete: renderScript({
            step,
            action: "delete",
            failureHint,
            constants,
            body: [shared.state, RECORDED_FILES_DELETE_BODY],
        }),
    };
}

// --- preseed ----------------------------------------------------------------------------------

const PRESEED_SECRETS: readonly ClassicSecret[] = ["jicofoAuthPassword", "jvbSecret"];

/** One debconf answer: what debconf-set-selections reads as "OWNER QUESTION TYPE VALUE". */
interface DebconfSelection {
    readonly owner: string;
    readonly question: string;
    readonly type: "string" | "select" | "password";
    readonly value: string | { readonly secret: ClassicSecret };
}

/** Text of the jitsi-meet/cert-choice answer that makes jitsi-meet-web-config use the uploaded files. */
export const OWN_CERTIFICATE_CHOICE = "I want to use my own certificate";

/**
 * Returns the answers that let the Jitsi packages install without questions. Each question is
 * set for every package that reads it, so that each one finds its value.
 *
 * jitsi-meet/jvb-hostname is never set: jitsi-meet-web-config's postinst stores the hostname
 * there after its first configuration, and when it finds a non-empty value equal to
 * jitsi-videobridge/jvb-hostname, it treats the host as configured and writes neither the nginx
 * site nor the certificate paths (debian/jitsi-meet-web-config.postinst in jitsi/jitsi-meet).
 */
function debconfSelections(options: ClassicHostOptions): DebconfSelection[] {
    return [
        { owner: "jitsi-videobridge2", question: "jitsi-videobridge/jvb-hostname", type: "string", value: options.domain },
        { owner: "jitsi-meet-prosody", question: "jitsi-videobridge/jvb-hostname", type: "string", value: options.domain },
        { owner: "jitsi-meet-web-config", question: "jitsi-meet/cert-choice", type: "select", value: OWN_CERTIFICATE_CHOICE },
        { owner: "jitsi-meet-web-config", question: "jitsi-meet/cert-path-key", type: "string", value: options.privateKeyPath },
        { owner: "jitsi-meet-web-config", question: "jitsi-meet/cert-path-crt", type: "string", value: options.certificatePath },
        { owner: "jicofo", question: "jicofo/jicofo-authpassword", type: "password", value: { secret: "jicofoAuthPassword" } },
        { owner: "jitsi-meet-prosody", question: "jicofo/jicofo-authpassword", type: "password", value: { secret: "jicofoAuthPassword" } },
        { owner: "jitsi-videobridge2", question: "jitsi-videobridge/jvbsecret", type: "password", value: { secret: "jvbSecret" } },
        { owner: "jitsi-meet-prosody", question: "jitsi-videobridge/jvbsecret", type: "password", value: { secret: "jvbSecret" } },
    ];
}

function renderAddSelection(selection: DebconfSelection): string {
    const value = typeof selection.value === "string"
        ? shellQuote(selection.value)
        : `"\${secret_values[${selection.value.secret}]}"`;
    return `add_selection ${shellQuote(selection.owner)} ${shellQuote(selection.question)} ${selection.type} ${value}`;
}

const PRESEED_FUNCTIONS = bash`
declare -A secret_values=()

# Decodes secret $1 into secret_values. debconf stores a value as the rest of one line, so the
# value must be one line without control characters or surrounding whitespace.
decode_secret_value() {
    local value
    value="$(decode_secret "$1")"
    if [[ -z "$value" || "$value" == *[[:cntrl:]]* || "$value" == [[:space:]]* || "$value" == *[[:space:]] ]]; then
        fail "\${1} is empty or contains a control character or leading or trailing whitespace, which debconf cannot store"
    fi
    secret_values["$1"]="$value"
}

owners=()
questions=()
types=()
values=()

add_selection() {
    owners+=("$1")
    questions+=("$2")
    types+=("$3")
    values+=("$4")
}

# Reads debconf's current answers into current_values, keyed by "OWNER QUESTION". The output of
# debconf-get-selections holds passwords, so it stays in a variable and goes through a pipe.
declare -A current_values=()
read_current_selections() {
    local all owner question value
    if ! all="$(debconf-get-selections)"; then
        fail "debconf-get-selections failed; check that no other process holds the debconf database lock"
    fi
    current_values=()
    while IFS=$'\t' read -r owner question _ value; do
        if [[ -n "$owner" && "$owner" != \#* ]]; then
            current_values["\${owner} \${question}"]="$value"
        fi
    done < <(printf '%s\n' "$all")
}

# Succeeds when selection $1 (an index into owners) has its value in current_values.
selection_is_set() {
    local key="\${owners[$1]} \${questions[$1]}"
    [[ -n "\${current_values[$key]+set}" && "\${current_values[$key]}" == "\${values[$1]}" ]]
}
`;

const PRESEED_CREATE_MAIN = bash`
command -v debconf-get-selections >/dev/null ||
    fail "debconf-get-selections not found; the classic-packages step installs debconf-utils, so run that step first"

# debconf locks its database while apt or dpkg configures packages.
wait_for_apt_locks
read_current_selections

pending=()
for index in "\${!owners[@]}"; do
    if selection_is_set "$index"; then
        continue
    fi
    key="\${owners[index]} \${questions[index]}"
    # Only answers that did not exist before are recorded, for delete to remove.
    if [[ -z "\${current_values[$key]+set}" ]]; then
        add_state_line "$STATE_FILE" "$key"
    fi
    pending+=("$index")
done

if ((\${#pending[@]} == 0)); then
    echo "\${STEP}: all \${#owners[@]} debconf answers are set"
else
    for index in "\${pending[@]}"; do
        printf '%s %s %s %s\n' "\${owners[index]}" "\${questions[index]}" "\${types[index]}" "\${values[index]}"
    done | debconf-set-selections

    read_current_selections
    for index in "\${pending[@]}"; do
        if ! selection_is_set "$index"; then
            fail "debconf-set-selections did not store \${questions[index]} for \${owners[index]}"
        fi
        record_change "set \${questions[index]} (\${types[index]}) for \${owners[index]}"
    done
fi
`;

/*
 * Delete removes the answers that create added, with the debconf protocol command UNREGISTER:
 * it drops one package from a question's owners, and debconf deletes a question, password
 * included, once no owner is left. PURGE would instead drop every question of the package,
 * also answers that the package's own scripts stored. Answers of a package that is still
 * installed stay, because its upgrades and dpkg-reconfigure read them. They also stay recorded,
 * so that a delete after the package is removed takes them out.
 */
const PRESEED_DELETE_BODY = bash`
if [[ ! -f "$STATE_FILE" ]]; then
    echo "\${STEP}: \${STATE_FILE} does not exist, so the create script added no debconf answer"
    report_summary
    exit 0
fi

wait_for_apt_locks
kept=()
while IFS= read -r entry; do
    if [[ -z "$entry" ]]; then
        continue
    fi
    owner="\${entry%% *}"
    question="\${entry#* }"
    # shellcheck disable=SC2016 # dpkg-query expands this field itself.
    status="$(dpkg-query -W -f='\${db:Status-Status}' "$owner" 2>/dev/null || true)"
    case "$status" in
        "" | not-installed | config-files) ;;
        *)
            echo "\${STEP}: keeping \${question} for \${owner}, because \${owner} is installed (dpkg status \${status})"
            kept+=("$entry")
            continue
            ;;
    esac
    # debconf-communicate exits with the protocol's status code; 10 means the question is gone.
    if response="$(printf 'UNREGISTER %s\n' "$question" | debconf-communicate "$owner")"; then
        record_change "removed \${question} for \${owner} from the debconf database"
    elif [[ "$response" != "10 "* ]]; then
        fail "debconf-communicate \${owner} could not unregister \${question}: \${response}"
    fi
done <"$STATE_FILE"

if ((\${#kept[@]} > 0)); then
    write_file "$STATE_FILE" 0644 "$(printf '%s\n' "\${kept[@]}")"$'\n'
else
    remove_state_file "$STATE_FILE"
fi
`;

function renderPreseedScript(options: ClassicHostOptions, shared: SharedShellFunctions): ClassicHostScript {
    const step = "preseed";
    const failureHint = "Check the debconf messages above and that no apt or dpkg process holds the debconf database.";
    const constants = [...stateConstants("preseed.state"), ...aptConstants()];
    return {
        name: step,
        stdinSecrets: PRESEED_SECRETS,
        create: renderScript({
            step,
            action: "create",
            failureHint,
            constants: [...constants, bashConstant("STDIN_SECRETS", PRESEED_SECRETS)],
            body: [
                SECRET_FUNCTIONS,
                renderSecretReads(PRESEED_SECRETS),
                shared.state,
                shared.apt,
                PRESEED_FUNCTIONS,
                PRESEED_SECRETS.map((secret) => `decode_secret_value ${secret}`).join("\n"),
                debconfSelections(options).map(renderAddSelection).join("\n"),
                PRESEED_CREATE_MAIN,
            ],
        }),
        delete: renderScript({
            step,
            action: "delete",
            failureHint,
            constants,
            body: [shared.state, shared.apt, PRESEED_DELETE_BODY],
        }),
    };
}

// --- jitsi-meet -------------------------------------------------------------------------------

/*
 * nginx is installed on its own first. jitsi-meet-web-config depends on
 * "nginx | nginx-full | nginx-extras | apache2" and its postinst writes a site for the web server
 * that it finds installed, so installing nginx first fixes that choice. nginx-light satisfies
 * none of these alternatives (debian/control and debian/jitsi-meet-web-config.postinst in
 * jitsi/jitsi-meet).
 */
const JITSI_MEET_CREATE_BODY = bash`
# apt-get update only warns when it cannot reach a repository, so a missing jitsi-meet
# candidate is what shows that the Jitsi repository is not usable. Checking it first keeps
# nginx from being installed for a jitsi-meet that cannot follow.
if ! is_installed jitsi-meet; then
    if ! run_apt_get update; then
        fail "apt-get update failed. \${FAILURE_HINT}"
    fi
    candidate="$(apt-cache policy jitsi-meet | awk '$1 == "Candidate:" { print $2 }')"
    if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
        fail "apt knows no jitsi-meet package to install, so apt-get update did not get the package list of \${JITSI_REPOSITORY}; read its warnings above, and check that the apt-repositories step succeeded"
    fi
    echo "\${STEP}: jitsi-meet \${candidate} is available"
fi

install_missing_packages -- nginx
install_missing_packages -- jitsi-meet
`;

function renderJitsiMeetScript(shared: SharedShellFunctions): ClassicHostScript {
    const step = "jitsi-meet";
    const failureHint =
        `Check the apt-get output above: apt-get update must reach ${JITSI_REPOSITORY.uri} and ${PROSODY_REPOSITORY.uri}, ` +
        "which the apt-repositories step sets up. The package scripts log to /var/log/apt/term.log.";
    const stateFileName = "jitsi-meet.installed";
    const constants = [...stateConstants(stateFileName), ...aptConstants()];
    return {
        name: step,
        stdinSecrets: [],
        create: renderScript({
            step,
            action: "create",
            failureHint,
            constants: [...constants, bashConstant("JITSI_REPOSITORY", `${JITSI_REPOSITORY.uri} ${JITSI_REPOSITORY.suite ?? ""}`)],
            body: [shared.state, shared.apt, PACKAGE_INSTALL_FUNCTIONS, JITSI_MEET_CREATE_BODY],
        }),
        // Delete uses "apt-get remove", not purge, so /etc/jitsi, the prosody accounts and the
        // nginx site stay, and a later create brings back the same service with the same secrets.
        delete: renderPackageRemovalScript(shared, step, stateFileName, failureHint),
    };
}
