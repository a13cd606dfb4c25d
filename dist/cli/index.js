#!/usr/bin/env node
import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
/******/ var __webpack_modules__ = ({

/***/ 486:
/***/ ((module, __unused_webpack___webpack_exports__, __nccwpck_require__) => {

__nccwpck_require__.a(module, async (__webpack_handle_async_dependencies__, __webpack_async_result__) => { try {
/* harmony import */ var _main_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(401);

process.exitCode = await (0,_main_js__WEBPACK_IMPORTED_MODULE_0__/* .main */ .i)(process.argv.slice(2));

__webpack_async_result__();
} catch(e) { __webpack_async_result__(e); } }, 1);

/***/ }),

/***/ 401:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {


// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  i: () => (/* binding */ main)
});

;// CONCATENATED MODULE: external "node:fs"
const external_node_fs_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");
;// CONCATENATED MODULE: ./src/lib/errors.ts
/**
 * A mistake in what the user gave (an input, a file, a remote): reported as a plain message, without a
 * stack trace, and kept apart from bugs in this tool.
 */
class errors_ConfigurationError extends Error {
    constructor(message, options) {
        super(message, options);
        this.name = 'ConfigurationError';
    }
}
/** The message of anything thrown, for logs and `setFailed`. */
function errorMessage(error) {
    return error instanceof Error ? error.message : String(error);
}

// EXTERNAL MODULE: external "node:util"
var external_node_util_ = __nccwpck_require__(7975);
;// CONCATENATED MODULE: ./src/lib/args.ts
/**
 * The one command-line parser, for the CLI and the agent, on `node:util`'s `parseArgs`: `--name value`,
 * `--name=value` (everything after the first `=`), and a flag given again adds a value. A flag that takes
 * a value takes the next argument whatever it looks like (an SSH key starts with `-----BEGIN`); a boolean
 * flag stands alone, meaning true, or takes a true/false word after it. `--help` or `-h` ends parsing.
 *
 * No error quotes an argument: one in the wrong place may be a secret (a key pasted after a boolean flag,
 * a token with a typo in its flag). A flag is named only when its name has a flag's shape, anything else
 * by its position on the command line.
 */


/** true or false for the words a boolean flag or input takes (as `@actions/core` reads them). */
function booleanWord(value) {
    if (value === 'true' || value === 'True' || value === 'TRUE')
        return true;
    if (value === 'false' || value === 'False' || value === 'FALSE')
        return false;
    return undefined;
}
// Only a name of this shape is ever quoted in an error.
const FLAG_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** The option is one whole argument, not a letter of a `-abc` group that parseArgs split up. */
function whole(arg, option) {
    return (arg === option.rawName ||
        (option.inlineValue === true && arg === `${option.rawName}=${option.value}`));
}
/**
 * Parses `argv` against the flags there are. `firstPosition` is the position of `argv[0]` on the whole
 * command line, for messages (after a command word, 2).
 */
function parseFlags(argv, flags, firstPosition = 1) {
    const known = (name) => Object.hasOwn(flags, name) ? flags[name] : undefined;
    const options = {};
    for (const name of Object.keys(flags))
        options[name] = { type: flags[name].boolean ? 'boolean' : 'string' };
    options.help = { type: 'boolean', short: 'h' };
    // Not strict: every refusal is ours, worded so that it quotes nothing.
    const { tokens } = (0,external_node_util_.parseArgs)({
        args: [...argv],
        options,
        strict: false,
        allowPositionals: true,
        tokens: true,
    });
    const values = new Map();
    for (let t = 0; t < tokens.length; t++) {
        const token = tokens[t];
        const position = token.index + firstPosition;
        if (token.kind === 'option' && token.name === 'help' && argv[token.index] === token.rawName)
            return { values, help: true };
        if (token.kind !== 'option' ||
            !token.rawName.startsWith('--') ||
            !whole(argv[token.index], token)) {
            throw new errors_ConfigurationError(`argument ${position} is not a flag, nor the value of one (flags are --lower-case-name VALUE; see --help)`);
        }
        const name = token.name;
        if (!FLAG_NAME.test(name))
            throw new errors_ConfigurationError(`argument ${position} is an unknown flag (see --help)`);
        if (name === 'help')
            throw new errors_ConfigurationError('flag --help takes no value');
        const flag = known(name);
        if (!flag)
            throw new errors_ConfigurationError(`unknown flag --${name} (see --help for the flags)`);
        let value = token.value;
        if (value === undefined && flag.boolean) {
            const next = tokens[t + 1];
            const word = next?.kind === 'positional' &&
                next.index === token.index + 1 &&
                booleanWord(next.value) !== undefined;
            value = word ? next.value : 'true';
            if (word)
                t++;
        }
        if (value === undefined)
            throw new errors_ConfigurationError(`flag --${name} needs a value (--${name} VALUE)`);
        values.set(name, [...(values.get(name) ?? []), value]);
    }
    return { values, help: false };
}

;// CONCATENATED MODULE: ./src/lib/inputs.ts
/**
 * The one way inputs are read, whatever the adapter: GitHub Actions (`core.getInput`), or the CLI (flags
 * and `GITOPS_*` environment variables). Each command's `getInputs()` reads through this, so the same
 * input gives the same value and the same error everywhere.
 */



// Control characters (C0, DEL, C1). A one-line value (a name, a version, a path) has none: a newline in
// a version ends up in commit trailers and outputs. Text (lists, keys, messages) may hold line breaks
// and tabs, nothing else.
const ANY_CONTROL = /\p{Cc}/u;
const CONTROL_BUT_LINE_BREAKS = /(?![\n\r\t])\p{Cc}/u;
class Inputs {
    source;
    defaults;
    constructor(source, defaults = {}) {
        this.source = source;
        this.defaults = defaults;
    }
    /** The trimmed value or default; `text` allows line breaks and tabs, else one line only. */
    raw(name, text = false) {
        const value = this.source.get(name)?.trim() || this.defaults[name] || undefined;
        if (value === undefined)
            return undefined;
        // The value is never quoted: it may be a secret, and its bytes would garble the log.
        if (!text && ANY_CONTROL.test(value)) {
            throw new errors_ConfigurationError(`input '${name}' holds a control character (a line break, tab or other); it must be one line`);
        }
        if (text && CONTROL_BUT_LINE_BREAKS.test(value)) {
            throw new errors_ConfigurationError(`input '${name}' holds a control character; only line breaks and tabs are allowed`);
        }
        return value;
    }
    /** Masks a secret made during the run (a generated key), as a secret input is masked. */
    mask(value) {
        this.source.mask(value);
        // Multi-line secrets (keys) are masked line by line too, as runners print them that way.
        for (const line of value.split(/\r?\n/)) {
            const part = line.trim();
            if (part.length > 8 && part !== value)
                this.source.mask(part);
        }
    }
    /** A value that must be given. */
    required(name) {
        const value = this.raw(name);
        if (value === undefined)
            throw new errors_ConfigurationError(`input '${name}' is required`);
        return value;
    }
    /** A value, or undefined when empty. */
    optional(name) {
        return this.raw(name);
    }
    /** Free text that may span lines (a commit message, known_hosts lines), or undefined when empty. */
    text(name) {
        return this.raw(name, true);
    }
    /** A secret: masked in logs before anything else can print it. */
    secret(name) {
        const value = this.raw(name, true);
        if (value !== undefined)
            this.mask(value);
        return value;
    }
    /**
     * A secret read from the file the input names (`ssh-key-file`), masked like `secret`. An unreadable
     * file is an error naming the input and the path, never the content.
     */
    secretFile(name) {
        const path = this.raw(name);
        if (path === undefined)
            return undefined;
        let content;
        try {
            content = (0,external_node_fs_namespaceObject.readFileSync)(path, 'utf8').trim();
        }
        catch (error) {
            const code = error.code ?? 'unreadable';
            throw new errors_ConfigurationError(`input ${name} ${path} cannot be read (${code})`);
        }
        if (content === '')
            throw new errors_ConfigurationError(`input ${name} ${path} is empty`);
        if (CONTROL_BUT_LINE_BREAKS.test(content)) {
            throw new errors_ConfigurationError(`input ${name} ${path} holds control characters; it must be a text file`);
        }
        this.mask(content);
        return content;
    }
    /** `true`/`false` (YAML 1.2 core schema words, as `core.getBooleanInput` takes them). */
    boolean(name) {
        const value = this.raw(name);
        if (value === undefined)
            return false;
        const word = booleanWord(value);
        if (word !== undefined)
            return word;
        // The value is not quoted back: a token pasted into the wrong input would be printed.
        throw new errors_ConfigurationError(`input '${name}' must be true or false`);
    }
    /** A list: one item a line, or comma-separated; blank items and `#` comments dropped. */
    list(name) {
        const value = this.raw(name, true);
        if (value === undefined)
            return [];
        return value
            .split(/[\n,]/)
            .map((s) => s.trim())
            .filter((s) => s !== '' && !s.startsWith('#'));
    }
    /** Words split on whitespace, for flags passed through to another program. */
    words(name) {
        const value = this.raw(name, true);
        return value === undefined ? [] : value.split(/\s+/).filter((s) => s !== '');
    }
    /** One of a fixed set of values. */
    choice(name, allowed) {
        const value = this.raw(name);
        if (value === undefined)
            return undefined;
        if (!allowed.includes(value)) {
            throw new errors_ConfigurationError(`input '${name}' must be one of ${allowed.join(', ')}`);
        }
        return value;
    }
}

;// CONCATENATED MODULE: ./src/lib/process/cleanup.ts
/**
 * What must not outlive the process: temp folders holding a clone or an SSH key, and child process
 * groups. Each is registered while it exists and unregistered when removed on the normal path; a CI step
 * or CLI run told to stop (SIGTERM, SIGINT, SIGHUP: a cancelled job, Ctrl-C, a closed terminal) removes
 * what is still registered before it exits. The work is synchronous on purpose: a signal handler that
 * awaits may be cut short by the next signal or the runner's SIGKILL.
 */

const cleanups = new Set();
/** Registers `cleanup` until the returned function is called (on the normal path). */
function registerCleanup(cleanup) {
    cleanups.add(cleanup);
    return () => {
        cleanups.delete(cleanup);
    };
}
/** Registers a folder to remove; the returned function unregisters it (the caller removes it itself). */
function registerTempDir(dir) {
    return registerCleanup(() => (0,external_node_fs_namespaceObject.rmSync)(dir, { recursive: true, force: true }));
}
/** Runs every registered cleanup now, newest first; one failing does not stop the others. */
function runCleanups() {
    const all = [...cleanups].reverse();
    cleanups.clear();
    for (const cleanup of all) {
        try {
            cleanup();
        }
        catch {
            // best effort: the others still run
        }
    }
}
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'];
let installed = false;
/**
 * For short-lived entry points (actions, CLI): on a stop signal, run the cleanups, then die of the same
 * signal so the caller sees how it ended. The agent handles its signals itself (it stops gracefully).
 */
function cleanUpOnStopSignals() {
    if (installed)
        return;
    installed = true;
    for (const signal of STOP_SIGNALS) {
        process.once(signal, () => {
            runCleanups();
            // The handler was `once`: the default action (termination) now applies.
            process.kill(process.pid, signal);
        });
    }
}

;// CONCATENATED MODULE: ./src/commands/specs.generated.ts
// Generated by `npm run build` from actions/*/action.yml. Do not edit.
const specs = {
    "install-agent": {
        "description": "Install or update the sync agent on a cluster from one job - deploy/base applied server-side, its SSH key kept in a Secret and registered read-only as the gitops repo's deploy key. Run it again and nothing changes.",
        "inputs": {
            "kubeconfig": {
                "description": "A kubeconfig file's path, or its content (masked; kept in a private temp file for the run only). Default - `KUBECONFIG`, then `~/.kube/config`.",
                "required": false
            },
            "namespace": {
                "description": "The agent's namespace.",
                "required": false,
                "default": "gitops-system"
            },
            "image": {
                "description": "The agent image.",
                "required": false,
                "default": "ghcr.io/gitops-actions/gitops-agent:v1"
            },
            "repository": {
                "description": "The gitops repo the agent syncs, as an SSH URL (`git@host:owner/name.git` or `ssh://git@host/owner/name.git`).",
                "required": true
            },
            "branch": {
                "description": "The branch the agent syncs. Default - the remote's default branch.",
                "required": false
            },
            "paths": {
                "description": "Folders of the gitops repo the agent syncs, one a line or comma-separated. Default - the whole repo.",
                "required": false
            },
            "poll-interval": {
                "description": "How often the agent fetches the repo (e.g. `1m`). Default - the agent's.",
                "required": false
            },
            "sync-interval": {
                "description": "How often the agent applies even without a new commit (e.g. `5m`). Default - the agent's.",
                "required": false
            },
            "prune": {
                "description": "Let the agent delete what the repo no longer has.",
                "required": false,
                "default": "false"
            },
            "cluster-name": {
                "description": "The cluster's name, for the agent's reports and the deploy key's title.",
                "required": false
            },
            "resources": {
                "description": "The agent container's resources, as `requests.cpu=50m, limits.memory=256Mi` (one a line or comma-separated). Default - the base's.",
                "required": false
            },
            "manifest-generation": {
                "description": "Let the agent run the repo's manifest generators.",
                "required": false,
                "default": "false"
            },
            "ssh-key": {
                "description": "The agent's own private key (OpenSSH or PEM, ed25519 or RSA of 2048 bits or more). Masked. Default - the key already installed, else a new ed25519 key.",
                "required": false
            },
            "known-hosts": {
                "description": "known_hosts lines of the git host (required for hosts other than github.com, whose published keys are built in).",
                "required": false
            },
            "token": {
                "description": "A token with admin on the gitops repo (GitHub) or Maintainer (GitLab), to register the deploy key read-only. Masked. Without one, the public key is printed with where to paste it.",
                "required": false
            },
            "git-host": {
                "description": "`github` or `gitlab`. Default - from the repository's host name.",
                "required": false
            },
            "api-url": {
                "description": "The git host's API URL (GitHub Enterprise, a GitLab instance). Default - from the repository's host.",
                "required": false
            },
            "deploy-key-title": {
                "description": "The deploy key's title. Default - `gitops-agent <cluster-name>/<namespace>`, so that a second cluster never overwrites the first.",
                "required": false
            },
            "rotate-key": {
                "description": "Make a new key, register it, update the Secret, restart the agent, then delete the old deploy key.",
                "required": false,
                "default": "false"
            },
            "notify": {
                "description": "Chat webhook URLs for the agent, one a line. Masked; stored in a Secret the agent mounts, never in its arguments.",
                "required": false
            },
            "status-token": {
                "description": "A token the agent sets commit statuses with. Masked; stored in a Secret the agent mounts, never in its arguments.",
                "required": false
            },
            "output-dir": {
                "description": "Write the manifests applied here (Secrets without their values; never the private key).",
                "required": false
            },
            "wait": {
                "description": "Wait for the agent to roll out and sync the branch's head.",
                "required": false,
                "default": "false"
            },
            "timeout": {
                "description": "Seconds `wait` may take.",
                "required": false,
                "default": "300"
            },
            "dry-run": {
                "description": "Render and check against the cluster (a server-side dry run), but apply nothing and register nothing.",
                "required": false,
                "default": "false"
            }
        },
        "outputs": {
            "public-key": {
                "description": "The agent's public key (the deploy key)."
            },
            "deploy-key-id": {
                "description": "The deploy key's id on the git host (empty without a token or in a dry run)."
            },
            "manifests-dir": {
                "description": "Where the manifests were written (`output-dir`)."
            },
            "agent-ready": {
                "description": "`true` when `wait` saw the agent roll out and sync."
            },
            "synced-commit": {
                "description": "The commit the agent synced (with `wait`)."
            },
            "unchanged": {
                "description": "`true` when the run changed nothing."
            }
        }
    },
    "publish-release": {
        "description": "Commit an app's rendered manifests into the gitops repo under releases/<env>/<app>/ with release metadata, and push - safely when many pipelines push at once. Also promotes a release from one env to another, or retires an app.",
        "inputs": {
            "env": {
                "description": "The environment (a DNS-label-like name, e.g. `staging`).",
                "required": true
            },
            "app": {
                "description": "The app (a DNS-label-like name).",
                "required": true
            },
            "manifests": {
                "description": "The per-object folder that render wrote (its `manifests-dir` output). Not with `from-env` or `retire`.",
                "required": false
            },
            "version": {
                "description": "The release's version. SemVer (a leading `v` is fine) orders releases; any other version (a commit SHA, a date) is ordered by its source commit's time, else by the gitops repo's history (a newer publish is newer).",
                "required": false
            },
            "from-env": {
                "description": "Promote - copy the exact release of this env (same objects, digest and version) to `env`.",
                "required": false
            },
            "retire": {
                "description": "Remove the app - replace its folder with a release.json that says `retired`, so the agent prunes its objects. Retiring again removes the folder.",
                "required": false,
                "default": "false"
            },
            "force": {
                "description": "Override the refusals to downgrade, to re-publish a version with other manifests, and to publish over a rollback's pin. Said in the commit.",
                "required": false,
                "default": "false"
            },
            "allow-secrets": {
                "description": "Accept plaintext `Secret` objects (refused by default).",
                "required": false,
                "default": "false"
            },
            "source-repo": {
                "description": "The app's repository. Default - from `GITHUB_SERVER_URL`/`GITHUB_REPOSITORY`, or GitLab's `CI_PROJECT_URL`.",
                "required": false
            },
            "source-commit": {
                "description": "The app's commit. Default - `GITHUB_SHA` or `CI_COMMIT_SHA`.",
                "required": false
            },
            "source-commit-time": {
                "description": "The source commit's time (ISO 8601). Default - read from the checkout with git, when it is there.",
                "required": false
            },
            "source-run": {
                "description": "The CI run's URL. Default - the GitHub Actions run, or GitLab's `CI_PIPELINE_URL`.",
                "required": false
            },
            "released-by": {
                "description": "Who released. Default - `GITHUB_ACTOR` or `GITLAB_USER_LOGIN`.",
                "required": false
            },
            "kustomize-version": {
                "description": "The kustomize version that rendered the manifests (render's `kustomize-version` output), recorded in release.json.",
                "required": false
            },
            "message": {
                "description": "Extra text for the commit body.",
                "required": false
            },
            "repository": {
                "description": "The gitops repo - a clone URL (`https://…`, `git@host:owner/name.git`, `ssh://…`, `file://…`) or `owner/name` on the current git host.",
                "required": true
            },
            "token": {
                "description": "A token that may push to the gitops repo over HTTPS (and open pull requests). Masked; never written to disk or the repo.",
                "required": false
            },
            "ssh-key": {
                "description": "An OpenSSH private key that may push to the gitops repo over SSH. Masked; kept in a private temp file for the run only.",
                "required": false
            },
            "ssh-key-file": {
                "description": "A file holding the OpenSSH private key, instead of `ssh-key` (not both) - the safer form on a command line, where a value may end up in shell history or process lists. Masked the same way.",
                "required": false
            },
            "known-hosts": {
                "description": "known_hosts lines of the SSH host (required for SSH remotes other than github.com, whose published keys are built in).",
                "required": false
            },
            "branch": {
                "description": "The gitops repo's branch. Default - the remote's default branch.",
                "required": false
            },
            "author-name": {
                "description": "Commit author and committer name.",
                "required": false,
                "default": "gitops-actions[bot]"
            },
            "author-email": {
                "description": "Commit author and committer email.",
                "required": false,
                "default": "gitops-actions@users.noreply.github.com"
            },
            "mode": {
                "description": "`push` to the branch, or `pull-request`: push to the tool's own branch `gitops/<env>/<app>` and open or update one pull request (GitHub) or merge request (GitLab).",
                "required": false,
                "default": "push"
            },
            "git-host": {
                "description": "`github` or `gitlab`, for pull requests and token logins. Default - from the CI system running the step.",
                "required": false
            },
            "api-url": {
                "description": "The git host's API URL for pull requests. Default - `GITHUB_API_URL` or `CI_API_V4_URL`.",
                "required": false
            },
            "max-attempts": {
                "description": "Push attempts when other pipelines push first (each re-applies the change on the new tip, with jittered backoff).",
                "required": false,
                "default": "30"
            },
            "git-timeout": {
                "description": "Seconds one git command (clone, fetch, push) may take before it is stopped with its children; a remote that never answers fails the step instead of hanging it.",
                "required": false,
                "default": "300"
            },
            "dry-run": {
                "description": "Commit in a temporary clone but push nothing.",
                "required": false,
                "default": "false"
            }
        },
        "outputs": {
            "commit": {
                "description": "The commit made (empty when nothing changed)."
            },
            "changed": {
                "description": "`true` when a commit was made; decided by digest, version and pin, not by release.json's bytes."
            },
            "attempts": {
                "description": "Push attempts it took."
            },
            "pull-request-url": {
                "description": "The pull or merge request, in pull-request mode."
            },
            "version": {
                "description": "The version now in place."
            },
            "digest": {
                "description": "The manifests' digest."
            },
            "objects-added": {
                "description": "Objects added, comma-separated (`Kind/namespace/name`)."
            },
            "objects-changed": {
                "description": "Objects changed, comma-separated."
            },
            "objects-removed": {
                "description": "Objects removed, comma-separated - the agent prunes them."
            }
        }
    },
    "render": {
        "description": "Run kustomize on an app's kustomization and hand back plain, validated manifests, one file per object.",
        "inputs": {
            "path": {
                "description": "The kustomization folder to build.",
                "required": true
            },
            "images": {
                "description": "Image overrides, one a line or comma-separated: `name=newName:tag`, `name:tag`, `name@sha256:<digest>`. Applied through a temporary overlay; your files are never modified.",
                "required": false
            },
            "output-dir": {
                "description": "The folder to write, one file per object (`<kind>-<name>.yaml`). Replaced wholly on each run.",
                "required": false,
                "default": "rendered"
            },
            "output-file": {
                "description": "The single-file form of the same objects. Default `<output-dir>.yaml`, beside the folder.",
                "required": false
            },
            "namespace": {
                "description": "Set this namespace on every namespaced object (kustomize's `namespace:`).",
                "required": false
            },
            "kustomize": {
                "description": "Which kustomize to run: a path to a kustomize or kubectl binary, or `kubectl` for `kubectl kustomize`. Default `GITOPS_KUSTOMIZE`, else a standalone `kustomize` on PATH, else `kubectl kustomize`.",
                "required": false
            },
            "kustomize-flags": {
                "description": "Extra flags for kustomize, e.g. `--enable-helm` or `--load-restrictor LoadRestrictionsNone`.",
                "required": false
            },
            "kustomize-timeout": {
                "description": "Seconds kustomize may run before it is killed (with whatever it started): a remote resource on a host that never answers fails the step instead of holding it.",
                "required": false,
                "default": "120"
            },
            "kustomize-memory-limit": {
                "description": "MiB of memory kustomize may hold (with whatever it started; watched on Linux runners) before it is killed: a YAML alias bomb fails the step instead of the runner.",
                "required": false,
                "default": "2048"
            },
            "allow-secrets": {
                "description": "Accept plaintext `Secret` objects (refused by default; use sealed or SOPS secrets).",
                "required": false,
                "default": "false"
            }
        },
        "outputs": {
            "manifests-dir": {
                "description": "The folder of per-object files."
            },
            "manifests-file": {
                "description": "The single-file form."
            },
            "objects": {
                "description": "How many objects were rendered."
            },
            "digest": {
                "description": "sha256 of the canonical form of the objects; the same input gives the same digest everywhere."
            },
            "kustomize-version": {
                "description": "The version of the kustomize that ran."
            }
        }
    },
    "rollback": {
        "description": "Go back to an earlier release of one app in one env - the folder restored as it was, in one commit that lists every commit it reverts, history kept, and the app pinned. Made for a manual workflow_dispatch.",
        "inputs": {
            "env": {
                "description": "The environment.",
                "required": true
            },
            "app": {
                "description": "The app.",
                "required": true
            },
            "to": {
                "description": "The release to go back to - a commit of the gitops repo, a version, or `previous` (the release before the one in place; rollbacks do not count).",
                "required": false,
                "default": "previous"
            },
            "reason": {
                "description": "Why, for the commit and the pin.",
                "required": false
            },
            "pin": {
                "description": "Pin the app so the next publish does not silently undo the rollback (lift with `unpin` or `force`).",
                "required": false,
                "default": "true"
            },
            "repository": {
                "description": "The gitops repo - a clone URL (`https://…`, `git@host:owner/name.git`, `ssh://…`, `file://…`) or `owner/name` on the current git host.",
                "required": true
            },
            "token": {
                "description": "A token that may push to the gitops repo over HTTPS (and open pull requests). Masked; never written to disk or the repo.",
                "required": false
            },
            "ssh-key": {
                "description": "An OpenSSH private key that may push to the gitops repo over SSH. Masked; kept in a private temp file for the run only.",
                "required": false
            },
            "ssh-key-file": {
                "description": "A file holding the OpenSSH private key, instead of `ssh-key` (not both) - the safer form on a command line, where a value may end up in shell history or process lists. Masked the same way.",
                "required": false
            },
            "known-hosts": {
                "description": "known_hosts lines of the SSH host (required for SSH remotes other than github.com, whose published keys are built in).",
                "required": false
            },
            "branch": {
                "description": "The gitops repo's branch. Default - the remote's default branch.",
                "required": false
            },
            "author-name": {
                "description": "Commit author and committer name.",
                "required": false,
                "default": "gitops-actions[bot]"
            },
            "author-email": {
                "description": "Commit author and committer email.",
                "required": false,
                "default": "gitops-actions@users.noreply.github.com"
            },
            "mode": {
                "description": "`push` to the branch, or `pull-request`: push to the tool's own branch `gitops/<env>/<app>` and open or update one pull request (GitHub) or merge request (GitLab).",
                "required": false,
                "default": "push"
            },
            "git-host": {
                "description": "`github` or `gitlab`, for pull requests and token logins. Default - from the CI system running the step.",
                "required": false
            },
            "api-url": {
                "description": "The git host's API URL for pull requests. Default - `GITHUB_API_URL` or `CI_API_V4_URL`.",
                "required": false
            },
            "max-attempts": {
                "description": "Push attempts when other pipelines push first (each re-applies the change on the new tip, with jittered backoff).",
                "required": false,
                "default": "30"
            },
            "git-timeout": {
                "description": "Seconds one git command (clone, fetch, push) may take before it is stopped with its children; a remote that never answers fails the step instead of hanging it.",
                "required": false,
                "default": "300"
            },
            "dry-run": {
                "description": "Commit in a temporary clone but push nothing.",
                "required": false,
                "default": "false"
            }
        },
        "outputs": {
            "commit": {
                "description": "The rollback commit."
            },
            "changed": {
                "description": "`true` when a commit was made."
            },
            "attempts": {
                "description": "Push attempts it took."
            },
            "version": {
                "description": "The version now in place."
            },
            "rolled-back-from": {
                "description": "The version that was in place before."
            },
            "target": {
                "description": "The release commit restored."
            },
            "reverted": {
                "description": "The commits undone, newest first, comma-separated."
            },
            "pull-request-url": {
                "description": "The pull or merge request, in pull-request mode."
            }
        }
    },
    "unpin": {
        "description": "Lift the pin that a rollback set on one env/app, in a commit of its own, so the next publish goes through.",
        "inputs": {
            "env": {
                "description": "The environment.",
                "required": true
            },
            "app": {
                "description": "The app.",
                "required": true
            },
            "repository": {
                "description": "The gitops repo - a clone URL (`https://…`, `git@host:owner/name.git`, `ssh://…`, `file://…`) or `owner/name` on the current git host.",
                "required": true
            },
            "token": {
                "description": "A token that may push to the gitops repo over HTTPS (and open pull requests). Masked; never written to disk or the repo.",
                "required": false
            },
            "ssh-key": {
                "description": "An OpenSSH private key that may push to the gitops repo over SSH. Masked; kept in a private temp file for the run only.",
                "required": false
            },
            "ssh-key-file": {
                "description": "A file holding the OpenSSH private key, instead of `ssh-key` (not both) - the safer form on a command line, where a value may end up in shell history or process lists. Masked the same way.",
                "required": false
            },
            "known-hosts": {
                "description": "known_hosts lines of the SSH host (required for SSH remotes other than github.com, whose published keys are built in).",
                "required": false
            },
            "branch": {
                "description": "The gitops repo's branch. Default - the remote's default branch.",
                "required": false
            },
            "author-name": {
                "description": "Commit author and committer name.",
                "required": false,
                "default": "gitops-actions[bot]"
            },
            "author-email": {
                "description": "Commit author and committer email.",
                "required": false,
                "default": "gitops-actions@users.noreply.github.com"
            },
            "max-attempts": {
                "description": "Push attempts when other pipelines push first (each re-applies the change on the new tip, with jittered backoff).",
                "required": false,
                "default": "30"
            },
            "git-timeout": {
                "description": "Seconds one git command (clone, fetch, push) may take before it is stopped with its children; a remote that never answers fails the step instead of hanging it.",
                "required": false,
                "default": "300"
            },
            "dry-run": {
                "description": "Commit in a temporary clone but push nothing.",
                "required": false,
                "default": "false"
            }
        },
        "outputs": {
            "commit": {
                "description": "The commit made (empty when the app was not pinned)."
            },
            "changed": {
                "description": "`true` when a commit was made."
            },
            "version": {
                "description": "The version in place."
            }
        }
    }
};

;// CONCATENATED MODULE: ./src/lib/log.ts
/** A logger that drops everything: for callers that want only the result. */
const silentLogger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
};
/** A logger that writes plain lines to stderr (the CLI and tests); debug only when asked. */
function consoleLogger(options = {}) {
    const write = (prefix, message) => {
        process.stderr.write(`${prefix}${message}\n`);
    };
    return {
        debug: (m) => {
            if (options.debug)
                write('debug: ', m);
        },
        info: (m) => write('', m),
        warn: (m) => write('warning: ', m),
        error: (m) => write('error: ', m),
    };
}

;// CONCATENATED MODULE: ./src/commands/adapter.ts
/**
 * What both adapters (the GitHub Action and the CLI) do with a command, so that each keeps only where
 * values come from and where results go: read its inputs, with the defaults of its action.yml where one
 * is empty, run it, hand back its outputs and summary, and tell a failure's message from a bug's stack.
 * The adapters import `src/commands` alone: what they need of the library comes through here.
 */




/** The command's inputs and outputs, from its action.yml. */
function specOf(command) {
    return specs[command.name];
}
/** The inputs that are true/false (their default says so). */
function booleanInputs(spec) {
    return new Set(Object.entries(spec.inputs)
        .filter(([, s]) => s.default === 'true' || s.default === 'false')
        .map(([name]) => name));
}
/** A command's inputs read from `source`, with its action.yml's defaults where a value is empty. */
function commandInputs(command, source) {
    const spec = specOf(command);
    const defaults = Object.fromEntries(Object.entries(spec.inputs).map(([k, v]) => [k, v.default]));
    return new Inputs(source, defaults);
}
/** Reads every input (refusing bad ones before any work), runs the command, and gives its results. */
async function runCommand(command, source, log) {
    // Stopped (a cancelled job, Ctrl-C), a run removes its clone and SSH key before it exits.
    cleanUpOnStopSignals();
    const options = command.getInputs(commandInputs(command, source));
    const result = await command.run(options, log);
    return { outputs: command.outputs(result), summary: () => command.summary(result) };
}
/** A failure as an adapter reports it: the message, and the stack only for a bug, not a user's mistake. */
function failure(error) {
    const bug = !(error instanceof errors_ConfigurationError) && error instanceof Error;
    return { message: errorMessage(error), stack: bug ? error.stack : undefined };
}
// What the adapters use of the library, so that they import src/commands alone.



;// CONCATENATED MODULE: external "node:os"
const external_node_os_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:os");
;// CONCATENATED MODULE: external "node:path"
const external_node_path_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:path");
;// CONCATENATED MODULE: ./src/lib/git/known-hosts.ts
/**
 * GitHub's published SSH host keys (https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/githubs-ssh-key-fingerprints),
 * built in so that an SSH remote on github.com is verified without a `known-hosts` input. Any other host
 * needs its keys given explicitly: nothing is ever trusted on first use.
 */
const GITHUB_KNOWN_HOSTS = [
    'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
    'github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=',
    'github.com ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCj7ndNxQowgcQnjshcLrqPEiiphnt+VTTvDP6mHBL9j1aNUkY4Ue1gvwnGLVlOhGeYrnZaMgRK6+PKCUXaDbC7qtbW8gIkhL7aGCsOr/C56SJMy/BCZfxd1nWzAOxSDPgVsmerOBYfNqltV9/hWCqBywINIR+5dIg6JTJ72pcEpEjcYgXkE2YEFXV1JHnsKgbLWNlhScqb2UmyRkQyytRLtL+38TGxkxCflmO+5Z8CSSNY7GidjMIZ7Q4zMjA2n1nGrlTDkzwDCsw+wqFPGQA179cnfGWOWRVruj16z6XyvxvjJwbz0wQZ75XK5tKSb7FNyeIEs4TT4jk+S4dhPeAUC5y+bDYirYgM4GC7uEnztnZyaVWQ7B381AK4Qdrwt51ZqExKbQpTUNn+EjqoTwvqNj4kqx5QUCI0ThS/YkOxJCXmPUWZbhjpCg56i+2aB6CmK2JGhn57K5mj0MNdBXA4/WnwH6XoPWJzK5Nyu2zB3nAZp+S5hpQs+p1vN1/wsjk=',
];
/** True for a remote on github.com over SSH (`git@github.com:o/r.git` or `ssh://git@github.com/o/r`). */
function isGithubSsh(url) {
    return /^(ssh:\/\/)?[^@/]+@github\.com[:/]/.test(url);
}

;// CONCATENATED MODULE: ./src/lib/git/remote.ts
/** What a remote URL is: its transport, and a form safe to print. */
/** `git@host:path`, `ssh://…`, `https://…`, `file://…` or a local path. */
function transportOf(url) {
    if (/^https:\/\//i.test(url))
        return 'https';
    if (/^http:\/\//i.test(url))
        return 'http';
    if (/^ssh:\/\//i.test(url) || /^[^/@:]+@[^/:]+:/.test(url))
        return 'ssh';
    return 'file';
}
/**
 * The URL without secrets in its user info, for logs and errors: everything up to the last `@` before
 * the host goes (a password may itself hold an `@`) for http(s), where a user name alone may be a token
 * (`https://token@host/...` → `https://host/...`), and for any scheme when it holds a password. An SSH
 * user name alone (`ssh://git@host/...`) is no secret and stays, as git and Flux print it.
 */
function redactUrl(url) {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i, (all, scheme, info) => /^https?:\/\/$/i.test(scheme) || info.includes(':') ? scheme : all);
}
/**
 * Takes the user info out of an http(s) URL (`https://user:token@host/…`), so that git never stores it
 * in `.git/config`; other URLs are returned as they are.
 */
function splitUrlCredentials(url) {
    const match = /^(https?:\/\/)([^/?#]*)@/i.exec(url);
    if (!match)
        return { url };
    const info = match[2];
    const colon = info.indexOf(':');
    const decode = (s) => {
        try {
            return decodeURIComponent(s);
        }
        catch {
            return s;
        }
    };
    const user = decode(colon < 0 ? info : info.slice(0, colon));
    const password = colon < 0 ? undefined : decode(info.slice(colon + 1));
    return { url: match[1] + url.slice(match[0].length), user: user || undefined, password };
}
/** The host of a remote (`git@host:path`, `ssh://`, `https://`); undefined for a local or `file://` one. */
function hostOf(url) {
    const scp = /^[^@/]+@([^:/]+):/.exec(url);
    if (scp)
        return scp[1];
    try {
        const parsed = new URL(url);
        return parsed.protocol === 'file:' ? undefined : parsed.hostname;
    }
    catch {
        return undefined;
    }
}

;// CONCATENATED MODULE: ./src/lib/manifests/identity.ts
function identity_refOf(object) {
    return {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.metadata.name,
        ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
    };
}
/** `Kind/namespace/name` (namespace empty for cluster-scoped or unset): the key of indexes. */
function refKey(ref) {
    return `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}
/** The key of a manifest, as `refKey` of its ref. */
function objectKey(object) {
    return refKey({
        kind: object.kind,
        name: object.metadata.name,
        namespace: object.metadata.namespace,
    });
}
/** `Kind/name` or `Kind/namespace/name`, for messages. */
function identity_describeRef(ref) {
    return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;
}
/** `describeRef` of a manifest. */
function describeObject(object) {
    return identity_describeRef({
        kind: object.kind,
        name: object.metadata.name,
        namespace: object.metadata.namespace,
    });
}

;// CONCATENATED MODULE: ./src/lib/kube/errors.ts
/**
 * A failed API call: `code` is the HTTP status (0 when the server could not be reached). An exec plugin
 * killed by the process runner's limits is its `cause` (see `limitOf`).
 */
class errors_KubeError extends Error {
    code;
    reason;
    constructor(message, code, reason, options) {
        super(message, options);
        this.code = code;
        this.reason = reason;
        this.name = 'KubeError';
    }
}

;// CONCATENATED MODULE: ./node_modules/js-yaml/dist/js-yaml.mjs
function getDefaultExportFromCjs(x) {
  return x && x.__esModule && Object.prototype.hasOwnProperty.call(x, "default") ? x["default"] : x;
}
var jsYaml = {};
var loader = {};
var common = {};
var hasRequiredCommon;
function requireCommon() {
  if (hasRequiredCommon) return common;
  hasRequiredCommon = 1;
  function isNothing(subject) {
    return typeof subject === "undefined" || subject === null;
  }
  function isObject(subject) {
    return typeof subject === "object" && subject !== null;
  }
  function toArray(sequence) {
    if (Array.isArray(sequence)) return sequence;
    else if (isNothing(sequence)) return [];
    return [sequence];
  }
  function extend(target, source) {
    if (source) {
      const sourceKeys = Object.keys(source);
      for (let index = 0, length = sourceKeys.length; index < length; index += 1) {
        const key = sourceKeys[index];
        target[key] = source[key];
      }
    }
    return target;
  }
  function repeat(string, count) {
    let result = "";
    for (let cycle = 0; cycle < count; cycle += 1) {
      result += string;
    }
    return result;
  }
  function isNegativeZero(number) {
    return number === 0 && Number.NEGATIVE_INFINITY === 1 / number;
  }
  common.isNothing = isNothing;
  common.isObject = isObject;
  common.toArray = toArray;
  common.repeat = repeat;
  common.isNegativeZero = isNegativeZero;
  common.extend = extend;
  return common;
}
var exception;
var hasRequiredException;
function requireException() {
  if (hasRequiredException) return exception;
  hasRequiredException = 1;
  function formatError(exception2, compact) {
    let where = "";
    const message = exception2.reason || "(unknown reason)";
    if (!exception2.mark) return message;
    if (exception2.mark.name) {
      where += 'in "' + exception2.mark.name + '" ';
    }
    where += "(" + (exception2.mark.line + 1) + ":" + (exception2.mark.column + 1) + ")";
    if (!compact && exception2.mark.snippet) {
      where += "\n\n" + exception2.mark.snippet;
    }
    return message + " " + where;
  }
  function YAMLException2(reason, mark) {
    Error.call(this);
    this.name = "YAMLException";
    this.reason = reason;
    this.mark = mark;
    this.message = formatError(this, false);
    if (Error.captureStackTrace) {
      Error.captureStackTrace(this, this.constructor);
    } else {
      this.stack = new Error().stack || "";
    }
  }
  YAMLException2.prototype = Object.create(Error.prototype);
  YAMLException2.prototype.constructor = YAMLException2;
  YAMLException2.prototype.toString = function toString(compact) {
    return this.name + ": " + formatError(this, compact);
  };
  exception = YAMLException2;
  return exception;
}
var snippet;
var hasRequiredSnippet;
function requireSnippet() {
  if (hasRequiredSnippet) return snippet;
  hasRequiredSnippet = 1;
  const common2 = requireCommon();
  function getLine(buffer, lineStart, lineEnd, position, maxLineLength) {
    let head = "";
    let tail = "";
    const maxHalfLength = Math.floor(maxLineLength / 2) - 1;
    if (position - lineStart > maxHalfLength) {
      head = " ... ";
      lineStart = position - maxHalfLength + head.length;
    }
    if (lineEnd - position > maxHalfLength) {
      tail = " ...";
      lineEnd = position + maxHalfLength - tail.length;
    }
    return {
      str: head + buffer.slice(lineStart, lineEnd).replace(/\t/g, "→") + tail,
      pos: position - lineStart + head.length
      // relative position
    };
  }
  function padStart(string, max) {
    return common2.repeat(" ", max - string.length) + string;
  }
  function makeSnippet(mark, options) {
    options = Object.create(options || null);
    if (!mark.buffer) return null;
    if (!options.maxLength) options.maxLength = 79;
    if (typeof options.indent !== "number") options.indent = 1;
    if (typeof options.linesBefore !== "number") options.linesBefore = 3;
    if (typeof options.linesAfter !== "number") options.linesAfter = 2;
    const re = /\r?\n|\r|\0/g;
    const lineStarts = [0];
    const lineEnds = [];
    let match;
    let foundLineNo = -1;
    while (match = re.exec(mark.buffer)) {
      lineEnds.push(match.index);
      lineStarts.push(match.index + match[0].length);
      if (mark.position <= match.index && foundLineNo < 0) {
        foundLineNo = lineStarts.length - 2;
      }
    }
    if (foundLineNo < 0) foundLineNo = lineStarts.length - 1;
    let result = "";
    const lineNoLength = Math.min(mark.line + options.linesAfter, lineEnds.length).toString().length;
    const maxLineLength = options.maxLength - (options.indent + lineNoLength + 3);
    for (let i = 1; i <= options.linesBefore; i++) {
      if (foundLineNo - i < 0) break;
      const line2 = getLine(
        mark.buffer,
        lineStarts[foundLineNo - i],
        lineEnds[foundLineNo - i],
        mark.position - (lineStarts[foundLineNo] - lineStarts[foundLineNo - i]),
        maxLineLength
      );
      result = common2.repeat(" ", options.indent) + padStart((mark.line - i + 1).toString(), lineNoLength) + " | " + line2.str + "\n" + result;
    }
    const line = getLine(mark.buffer, lineStarts[foundLineNo], lineEnds[foundLineNo], mark.position, maxLineLength);
    result += common2.repeat(" ", options.indent) + padStart((mark.line + 1).toString(), lineNoLength) + " | " + line.str + "\n";
    result += common2.repeat("-", options.indent + lineNoLength + 3 + line.pos) + "^\n";
    for (let i = 1; i <= options.linesAfter; i++) {
      if (foundLineNo + i >= lineEnds.length) break;
      const line2 = getLine(
        mark.buffer,
        lineStarts[foundLineNo + i],
        lineEnds[foundLineNo + i],
        mark.position - (lineStarts[foundLineNo] - lineStarts[foundLineNo + i]),
        maxLineLength
      );
      result += common2.repeat(" ", options.indent) + padStart((mark.line + i + 1).toString(), lineNoLength) + " | " + line2.str + "\n";
    }
    return result.replace(/\n$/, "");
  }
  snippet = makeSnippet;
  return snippet;
}
var type;
var hasRequiredType;
function requireType() {
  if (hasRequiredType) return type;
  hasRequiredType = 1;
  const YAMLException2 = requireException();
  const TYPE_CONSTRUCTOR_OPTIONS = [
    "kind",
    "multi",
    "resolve",
    "construct",
    "instanceOf",
    "predicate",
    "represent",
    "representName",
    "defaultStyle",
    "styleAliases"
  ];
  const YAML_NODE_KINDS = [
    "scalar",
    "sequence",
    "mapping"
  ];
  function compileStyleAliases(map2) {
    const result = {};
    if (map2 !== null) {
      Object.keys(map2).forEach(function(style) {
        map2[style].forEach(function(alias) {
          result[String(alias)] = style;
        });
      });
    }
    return result;
  }
  function Type2(tag, options) {
    options = options || {};
    Object.keys(options).forEach(function(name) {
      if (TYPE_CONSTRUCTOR_OPTIONS.indexOf(name) === -1) {
        throw new YAMLException2('Unknown option "' + name + '" is met in definition of "' + tag + '" YAML type.');
      }
    });
    this.options = options;
    this.tag = tag;
    this.kind = options["kind"] || null;
    this.resolve = options["resolve"] || function() {
      return true;
    };
    this.construct = options["construct"] || function(data) {
      return data;
    };
    this.instanceOf = options["instanceOf"] || null;
    this.predicate = options["predicate"] || null;
    this.represent = options["represent"] || null;
    this.representName = options["representName"] || null;
    this.defaultStyle = options["defaultStyle"] || null;
    this.multi = options["multi"] || false;
    this.styleAliases = compileStyleAliases(options["styleAliases"] || null);
    if (YAML_NODE_KINDS.indexOf(this.kind) === -1) {
      throw new YAMLException2('Unknown kind "' + this.kind + '" is specified for "' + tag + '" YAML type.');
    }
  }
  type = Type2;
  return type;
}
var schema;
var hasRequiredSchema;
function requireSchema() {
  if (hasRequiredSchema) return schema;
  hasRequiredSchema = 1;
  const YAMLException2 = requireException();
  const Type2 = requireType();
  function compileList(schema2, name) {
    const result = [];
    schema2[name].forEach(function(currentType) {
      let newIndex = result.length;
      result.forEach(function(previousType, previousIndex) {
        if (previousType.tag === currentType.tag && previousType.kind === currentType.kind && previousType.multi === currentType.multi) {
          newIndex = previousIndex;
        }
      });
      result[newIndex] = currentType;
    });
    return result;
  }
  function compileMap() {
    const result = {
      scalar: {},
      sequence: {},
      mapping: {},
      fallback: {},
      multi: {
        scalar: [],
        sequence: [],
        mapping: [],
        fallback: []
      }
    };
    function collectType(type2) {
      if (type2.multi) {
        result.multi[type2.kind].push(type2);
        result.multi["fallback"].push(type2);
      } else {
        result[type2.kind][type2.tag] = result["fallback"][type2.tag] = type2;
      }
    }
    for (let index = 0, length = arguments.length; index < length; index += 1) {
      arguments[index].forEach(collectType);
    }
    return result;
  }
  function Schema2(definition) {
    return this.extend(definition);
  }
  Schema2.prototype.extend = function extend(definition) {
    let implicit = [];
    let explicit = [];
    if (definition instanceof Type2) {
      explicit.push(definition);
    } else if (Array.isArray(definition)) {
      explicit = explicit.concat(definition);
    } else if (definition && (Array.isArray(definition.implicit) || Array.isArray(definition.explicit))) {
      if (definition.implicit) implicit = implicit.concat(definition.implicit);
      if (definition.explicit) explicit = explicit.concat(definition.explicit);
    } else {
      throw new YAMLException2("Schema.extend argument should be a Type, [ Type ], or a schema definition ({ implicit: [...], explicit: [...] })");
    }
    implicit.forEach(function(type2) {
      if (!(type2 instanceof Type2)) {
        throw new YAMLException2("Specified list of YAML types (or a single Type object) contains a non-Type object.");
      }
      if (type2.loadKind && type2.loadKind !== "scalar") {
        throw new YAMLException2("There is a non-scalar type in the implicit list of a schema. Implicit resolving of such types is not supported.");
      }
      if (type2.multi) {
        throw new YAMLException2("There is a multi type in the implicit list of a schema. Multi tags can only be listed as explicit.");
      }
    });
    explicit.forEach(function(type2) {
      if (!(type2 instanceof Type2)) {
        throw new YAMLException2("Specified list of YAML types (or a single Type object) contains a non-Type object.");
      }
    });
    const result = Object.create(Schema2.prototype);
    result.implicit = (this.implicit || []).concat(implicit);
    result.explicit = (this.explicit || []).concat(explicit);
    result.compiledImplicit = compileList(result, "implicit");
    result.compiledExplicit = compileList(result, "explicit");
    result.compiledTypeMap = compileMap(result.compiledImplicit, result.compiledExplicit);
    return result;
  };
  schema = Schema2;
  return schema;
}
var str;
var hasRequiredStr;
function requireStr() {
  if (hasRequiredStr) return str;
  hasRequiredStr = 1;
  const Type2 = requireType();
  str = new Type2("tag:yaml.org,2002:str", {
    kind: "scalar",
    construct: function(data) {
      return data !== null ? data : "";
    }
  });
  return str;
}
var seq;
var hasRequiredSeq;
function requireSeq() {
  if (hasRequiredSeq) return seq;
  hasRequiredSeq = 1;
  const Type2 = requireType();
  seq = new Type2("tag:yaml.org,2002:seq", {
    kind: "sequence",
    construct: function(data) {
      return data !== null ? data : [];
    }
  });
  return seq;
}
var map;
var hasRequiredMap;
function requireMap() {
  if (hasRequiredMap) return map;
  hasRequiredMap = 1;
  const Type2 = requireType();
  map = new Type2("tag:yaml.org,2002:map", {
    kind: "mapping",
    construct: function(data) {
      return data !== null ? data : {};
    }
  });
  return map;
}
var failsafe;
var hasRequiredFailsafe;
function requireFailsafe() {
  if (hasRequiredFailsafe) return failsafe;
  hasRequiredFailsafe = 1;
  const Schema2 = requireSchema();
  failsafe = new Schema2({
    explicit: [
      requireStr(),
      requireSeq(),
      requireMap()
    ]
  });
  return failsafe;
}
var _null;
var hasRequired_null;
function require_null() {
  if (hasRequired_null) return _null;
  hasRequired_null = 1;
  const Type2 = requireType();
  function resolveYamlNull(data) {
    if (data === null) return true;
    const max = data.length;
    return max === 1 && data === "~" || max === 4 && (data === "null" || data === "Null" || data === "NULL");
  }
  function constructYamlNull() {
    return null;
  }
  function isNull(object) {
    return object === null;
  }
  _null = new Type2("tag:yaml.org,2002:null", {
    kind: "scalar",
    resolve: resolveYamlNull,
    construct: constructYamlNull,
    predicate: isNull,
    represent: {
      canonical: function() {
        return "~";
      },
      lowercase: function() {
        return "null";
      },
      uppercase: function() {
        return "NULL";
      },
      camelcase: function() {
        return "Null";
      },
      empty: function() {
        return "";
      }
    },
    defaultStyle: "lowercase"
  });
  return _null;
}
var bool;
var hasRequiredBool;
function requireBool() {
  if (hasRequiredBool) return bool;
  hasRequiredBool = 1;
  const Type2 = requireType();
  function resolveYamlBoolean(data) {
    if (data === null) return false;
    const max = data.length;
    return max === 4 && (data === "true" || data === "True" || data === "TRUE") || max === 5 && (data === "false" || data === "False" || data === "FALSE");
  }
  function constructYamlBoolean(data) {
    return data === "true" || data === "True" || data === "TRUE";
  }
  function isBoolean(object) {
    return Object.prototype.toString.call(object) === "[object Boolean]";
  }
  bool = new Type2("tag:yaml.org,2002:bool", {
    kind: "scalar",
    resolve: resolveYamlBoolean,
    construct: constructYamlBoolean,
    predicate: isBoolean,
    represent: {
      lowercase: function(object) {
        return object ? "true" : "false";
      },
      uppercase: function(object) {
        return object ? "TRUE" : "FALSE";
      },
      camelcase: function(object) {
        return object ? "True" : "False";
      }
    },
    defaultStyle: "lowercase"
  });
  return bool;
}
var js_yaml_int;
var hasRequiredInt;
function requireInt() {
  if (hasRequiredInt) return js_yaml_int;
  hasRequiredInt = 1;
  const common2 = requireCommon();
  const Type2 = requireType();
  function isHexCode(c) {
    return c >= 48 && c <= 57 || c >= 65 && c <= 70 || c >= 97 && c <= 102;
  }
  function isOctCode(c) {
    return c >= 48 && c <= 55;
  }
  function isDecCode(c) {
    return c >= 48 && c <= 57;
  }
  function resolveYamlInteger(data) {
    if (data === null) return false;
    const max = data.length;
    let index = 0;
    let hasDigits = false;
    if (!max) return false;
    let ch = data[index];
    if (ch === "-" || ch === "+") {
      ch = data[++index];
    }
    if (ch === "0") {
      if (index + 1 === max) return true;
      ch = data[++index];
      if (ch === "b") {
        index++;
        for (; index < max; index++) {
          ch = data[index];
          if (ch !== "0" && ch !== "1") return false;
          hasDigits = true;
        }
        return hasDigits && isFinite(parseYamlInteger(data));
      }
      if (ch === "x") {
        index++;
        for (; index < max; index++) {
          if (!isHexCode(data.charCodeAt(index))) return false;
          hasDigits = true;
        }
        return hasDigits && isFinite(parseYamlInteger(data));
      }
      if (ch === "o") {
        index++;
        for (; index < max; index++) {
          if (!isOctCode(data.charCodeAt(index))) return false;
          hasDigits = true;
        }
        return hasDigits && isFinite(parseYamlInteger(data));
      }
    }
    for (; index < max; index++) {
      if (!isDecCode(data.charCodeAt(index))) {
        return false;
      }
      hasDigits = true;
    }
    if (!hasDigits) return false;
    return isFinite(parseYamlInteger(data));
  }
  function parseYamlInteger(data) {
    let value = data;
    let sign = 1;
    let ch = value[0];
    if (ch === "-" || ch === "+") {
      if (ch === "-") sign = -1;
      value = value.slice(1);
      ch = value[0];
    }
    if (value === "0") return 0;
    if (ch === "0") {
      if (value[1] === "b") return sign * parseInt(value.slice(2), 2);
      if (value[1] === "x") return sign * parseInt(value.slice(2), 16);
      if (value[1] === "o") return sign * parseInt(value.slice(2), 8);
    }
    return sign * parseInt(value, 10);
  }
  function constructYamlInteger(data) {
    return parseYamlInteger(data);
  }
  function isInteger(object) {
    return Object.prototype.toString.call(object) === "[object Number]" && (object % 1 === 0 && !common2.isNegativeZero(object));
  }
  js_yaml_int = new Type2("tag:yaml.org,2002:int", {
    kind: "scalar",
    resolve: resolveYamlInteger,
    construct: constructYamlInteger,
    predicate: isInteger,
    represent: {
      binary: function(obj) {
        return obj >= 0 ? "0b" + obj.toString(2) : "-0b" + obj.toString(2).slice(1);
      },
      octal: function(obj) {
        return obj >= 0 ? "0o" + obj.toString(8) : "-0o" + obj.toString(8).slice(1);
      },
      decimal: function(obj) {
        return obj.toString(10);
      },
      hexadecimal: function(obj) {
        return obj >= 0 ? "0x" + obj.toString(16).toUpperCase() : "-0x" + obj.toString(16).toUpperCase().slice(1);
      }
    },
    defaultStyle: "decimal",
    styleAliases: {
      binary: [2, "bin"],
      octal: [8, "oct"],
      decimal: [10, "dec"],
      hexadecimal: [16, "hex"]
    }
  });
  return js_yaml_int;
}
var js_yaml_float;
var hasRequiredFloat;
function requireFloat() {
  if (hasRequiredFloat) return js_yaml_float;
  hasRequiredFloat = 1;
  const common2 = requireCommon();
  const Type2 = requireType();
  const YAML_FLOAT_PATTERN = new RegExp(
    // 2.5e4, 2.5 and integers
    "^(?:[-+]?(?:[0-9]+)(?:\\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\\.[0-9]+(?:[eE][-+]?[0-9]+)?|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN))$"
  );
  const YAML_FLOAT_SPECIAL_PATTERN = new RegExp(
    "^(?:[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN))$"
  );
  function resolveYamlFloat(data) {
    if (data === null) return false;
    if (!YAML_FLOAT_PATTERN.test(data)) {
      return false;
    }
    if (isFinite(parseFloat(data, 10))) {
      return true;
    }
    return YAML_FLOAT_SPECIAL_PATTERN.test(data);
  }
  function constructYamlFloat(data) {
    let value = data.toLowerCase();
    const sign = value[0] === "-" ? -1 : 1;
    if ("+-".indexOf(value[0]) >= 0) {
      value = value.slice(1);
    }
    if (value === ".inf") {
      return sign === 1 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    } else if (value === ".nan") {
      return NaN;
    }
    return sign * parseFloat(value, 10);
  }
  const SCIENTIFIC_WITHOUT_DOT = /^[-+]?[0-9]+e/;
  function representYamlFloat(object, style) {
    if (isNaN(object)) {
      switch (style) {
        case "lowercase":
          return ".nan";
        case "uppercase":
          return ".NAN";
        case "camelcase":
          return ".NaN";
      }
    } else if (Number.POSITIVE_INFINITY === object) {
      switch (style) {
        case "lowercase":
          return ".inf";
        case "uppercase":
          return ".INF";
        case "camelcase":
          return ".Inf";
      }
    } else if (Number.NEGATIVE_INFINITY === object) {
      switch (style) {
        case "lowercase":
          return "-.inf";
        case "uppercase":
          return "-.INF";
        case "camelcase":
          return "-.Inf";
      }
    } else if (common2.isNegativeZero(object)) {
      return "-0.0";
    }
    const res = object.toString(10);
    return SCIENTIFIC_WITHOUT_DOT.test(res) ? res.replace("e", ".e") : res;
  }
  function isFloat(object) {
    return Object.prototype.toString.call(object) === "[object Number]" && (object % 1 !== 0 || common2.isNegativeZero(object));
  }
  js_yaml_float = new Type2("tag:yaml.org,2002:float", {
    kind: "scalar",
    resolve: resolveYamlFloat,
    construct: constructYamlFloat,
    predicate: isFloat,
    represent: representYamlFloat,
    defaultStyle: "lowercase"
  });
  return js_yaml_float;
}
var json;
var hasRequiredJson;
function requireJson() {
  if (hasRequiredJson) return json;
  hasRequiredJson = 1;
  json = requireFailsafe().extend({
    implicit: [
      require_null(),
      requireBool(),
      requireInt(),
      requireFloat()
    ]
  });
  return json;
}
var core;
var hasRequiredCore;
function requireCore() {
  if (hasRequiredCore) return core;
  hasRequiredCore = 1;
  core = requireJson();
  return core;
}
var timestamp;
var hasRequiredTimestamp;
function requireTimestamp() {
  if (hasRequiredTimestamp) return timestamp;
  hasRequiredTimestamp = 1;
  const Type2 = requireType();
  const YAML_DATE_REGEXP = new RegExp(
    "^([0-9][0-9][0-9][0-9])-([0-9][0-9])-([0-9][0-9])$"
  );
  const YAML_TIMESTAMP_REGEXP = new RegExp(
    "^([0-9][0-9][0-9][0-9])-([0-9][0-9]?)-([0-9][0-9]?)(?:[Tt]|[ \\t]+)([0-9][0-9]?):([0-9][0-9]):([0-9][0-9])(?:\\.([0-9]*))?(?:[ \\t]*(Z|([-+])([0-9][0-9]?)(?::([0-9][0-9]))?))?$"
  );
  function resolveYamlTimestamp(data) {
    if (data === null) return false;
    if (YAML_DATE_REGEXP.exec(data) !== null) return true;
    if (YAML_TIMESTAMP_REGEXP.exec(data) !== null) return true;
    return false;
  }
  function constructYamlTimestamp(data) {
    let fraction = 0;
    let delta = null;
    let match = YAML_DATE_REGEXP.exec(data);
    if (match === null) match = YAML_TIMESTAMP_REGEXP.exec(data);
    if (match === null) throw new Error("Date resolve error");
    const year = +match[1];
    const month = +match[2] - 1;
    const day = +match[3];
    if (!match[4]) {
      return new Date(Date.UTC(year, month, day));
    }
    const hour = +match[4];
    const minute = +match[5];
    const second = +match[6];
    if (match[7]) {
      fraction = match[7].slice(0, 3);
      while (fraction.length < 3) {
        fraction += "0";
      }
      fraction = +fraction;
    }
    if (match[9]) {
      const tzHour = +match[10];
      const tzMinute = +(match[11] || 0);
      delta = (tzHour * 60 + tzMinute) * 6e4;
      if (match[9] === "-") delta = -delta;
    }
    const date = new Date(Date.UTC(year, month, day, hour, minute, second, fraction));
    if (delta) date.setTime(date.getTime() - delta);
    return date;
  }
  function representYamlTimestamp(object) {
    return object.toISOString();
  }
  timestamp = new Type2("tag:yaml.org,2002:timestamp", {
    kind: "scalar",
    resolve: resolveYamlTimestamp,
    construct: constructYamlTimestamp,
    instanceOf: Date,
    represent: representYamlTimestamp
  });
  return timestamp;
}
var merge;
var hasRequiredMerge;
function requireMerge() {
  if (hasRequiredMerge) return merge;
  hasRequiredMerge = 1;
  const Type2 = requireType();
  function resolveYamlMerge(data) {
    return data === "<<" || data === null;
  }
  merge = new Type2("tag:yaml.org,2002:merge", {
    kind: "scalar",
    resolve: resolveYamlMerge
  });
  return merge;
}
var binary;
var hasRequiredBinary;
function requireBinary() {
  if (hasRequiredBinary) return binary;
  hasRequiredBinary = 1;
  const Type2 = requireType();
  const BASE64_MAP = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n\r";
  function resolveYamlBinary(data) {
    if (data === null) return false;
    let bitlen = 0;
    const max = data.length;
    const map2 = BASE64_MAP;
    for (let idx = 0; idx < max; idx++) {
      const code = map2.indexOf(data.charAt(idx));
      if (code > 64) continue;
      if (code < 0) return false;
      bitlen += 6;
    }
    return bitlen % 8 === 0;
  }
  function constructYamlBinary(data) {
    const input = data.replace(/[\r\n=]/g, "");
    const max = input.length;
    const map2 = BASE64_MAP;
    let bits = 0;
    const result = [];
    for (let idx = 0; idx < max; idx++) {
      if (idx % 4 === 0 && idx) {
        result.push(bits >> 16 & 255);
        result.push(bits >> 8 & 255);
        result.push(bits & 255);
      }
      bits = bits << 6 | map2.indexOf(input.charAt(idx));
    }
    const tailbits = max % 4 * 6;
    if (tailbits === 0) {
      result.push(bits >> 16 & 255);
      result.push(bits >> 8 & 255);
      result.push(bits & 255);
    } else if (tailbits === 18) {
      result.push(bits >> 10 & 255);
      result.push(bits >> 2 & 255);
    } else if (tailbits === 12) {
      result.push(bits >> 4 & 255);
    }
    return new Uint8Array(result);
  }
  function representYamlBinary(object) {
    let result = "";
    let bits = 0;
    const max = object.length;
    const map2 = BASE64_MAP;
    for (let idx = 0; idx < max; idx++) {
      if (idx % 3 === 0 && idx) {
        result += map2[bits >> 18 & 63];
        result += map2[bits >> 12 & 63];
        result += map2[bits >> 6 & 63];
        result += map2[bits & 63];
      }
      bits = (bits << 8) + object[idx];
    }
    const tail = max % 3;
    if (tail === 0) {
      result += map2[bits >> 18 & 63];
      result += map2[bits >> 12 & 63];
      result += map2[bits >> 6 & 63];
      result += map2[bits & 63];
    } else if (tail === 2) {
      result += map2[bits >> 10 & 63];
      result += map2[bits >> 4 & 63];
      result += map2[bits << 2 & 63];
      result += map2[64];
    } else if (tail === 1) {
      result += map2[bits >> 2 & 63];
      result += map2[bits << 4 & 63];
      result += map2[64];
      result += map2[64];
    }
    return result;
  }
  function isBinary(obj) {
    return Object.prototype.toString.call(obj) === "[object Uint8Array]";
  }
  binary = new Type2("tag:yaml.org,2002:binary", {
    kind: "scalar",
    resolve: resolveYamlBinary,
    construct: constructYamlBinary,
    predicate: isBinary,
    represent: representYamlBinary
  });
  return binary;
}
var omap;
var hasRequiredOmap;
function requireOmap() {
  if (hasRequiredOmap) return omap;
  hasRequiredOmap = 1;
  const Type2 = requireType();
  const _hasOwnProperty = Object.prototype.hasOwnProperty;
  const _toString = Object.prototype.toString;
  function resolveYamlOmap(data) {
    if (data === null) return true;
    const objectKeys = {};
    const object = data;
    for (let index = 0, length = object.length; index < length; index += 1) {
      const pair = object[index];
      let pairHasKey = false;
      if (_toString.call(pair) !== "[object Object]") return false;
      let pairKey;
      for (pairKey in pair) {
        if (_hasOwnProperty.call(pair, pairKey)) {
          if (!pairHasKey) pairHasKey = true;
          else return false;
        }
      }
      if (!pairHasKey) return false;
      if (_hasOwnProperty.call(objectKeys, pairKey)) return false;
      Object.defineProperty(objectKeys, pairKey, { value: true });
    }
    return true;
  }
  function constructYamlOmap(data) {
    return data !== null ? data : [];
  }
  omap = new Type2("tag:yaml.org,2002:omap", {
    kind: "sequence",
    resolve: resolveYamlOmap,
    construct: constructYamlOmap
  });
  return omap;
}
var pairs;
var hasRequiredPairs;
function requirePairs() {
  if (hasRequiredPairs) return pairs;
  hasRequiredPairs = 1;
  const Type2 = requireType();
  const _toString = Object.prototype.toString;
  function resolveYamlPairs(data) {
    if (data === null) return true;
    const object = data;
    const result = new Array(object.length);
    for (let index = 0, length = object.length; index < length; index += 1) {
      const pair = object[index];
      if (_toString.call(pair) !== "[object Object]") return false;
      const keys = Object.keys(pair);
      if (keys.length !== 1) return false;
      result[index] = [keys[0], pair[keys[0]]];
    }
    return true;
  }
  function constructYamlPairs(data) {
    if (data === null) return [];
    const object = data;
    const result = new Array(object.length);
    for (let index = 0, length = object.length; index < length; index += 1) {
      const pair = object[index];
      const keys = Object.keys(pair);
      result[index] = [keys[0], pair[keys[0]]];
    }
    return result;
  }
  pairs = new Type2("tag:yaml.org,2002:pairs", {
    kind: "sequence",
    resolve: resolveYamlPairs,
    construct: constructYamlPairs
  });
  return pairs;
}
var set;
var hasRequiredSet;
function requireSet() {
  if (hasRequiredSet) return set;
  hasRequiredSet = 1;
  const Type2 = requireType();
  const _hasOwnProperty = Object.prototype.hasOwnProperty;
  function resolveYamlSet(data) {
    if (data === null) return true;
    const object = data;
    for (const key in object) {
      if (_hasOwnProperty.call(object, key)) {
        if (object[key] !== null) return false;
      }
    }
    return true;
  }
  function constructYamlSet(data) {
    return data !== null ? data : {};
  }
  set = new Type2("tag:yaml.org,2002:set", {
    kind: "mapping",
    resolve: resolveYamlSet,
    construct: constructYamlSet
  });
  return set;
}
var _default;
var hasRequired_default;
function require_default() {
  if (hasRequired_default) return _default;
  hasRequired_default = 1;
  _default = requireCore().extend({
    implicit: [
      requireTimestamp(),
      requireMerge()
    ],
    explicit: [
      requireBinary(),
      requireOmap(),
      requirePairs(),
      requireSet()
    ]
  });
  return _default;
}
var hasRequiredLoader;
function requireLoader() {
  if (hasRequiredLoader) return loader;
  hasRequiredLoader = 1;
  const common2 = requireCommon();
  const YAMLException2 = requireException();
  const makeSnippet = requireSnippet();
  const DEFAULT_SCHEMA2 = require_default();
  const _hasOwnProperty = Object.prototype.hasOwnProperty;
  const CONTEXT_FLOW_IN = 1;
  const CONTEXT_FLOW_OUT = 2;
  const CONTEXT_BLOCK_IN = 3;
  const CONTEXT_BLOCK_OUT = 4;
  const CHOMPING_CLIP = 1;
  const CHOMPING_STRIP = 2;
  const CHOMPING_KEEP = 3;
  const PATTERN_NON_PRINTABLE = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:[^\uD800-\uDBFF]|^)[\uDC00-\uDFFF]/;
  const PATTERN_NON_ASCII_LINE_BREAKS = /[\x85\u2028\u2029]/;
  const PATTERN_FLOW_INDICATORS = /[,\[\]{}]/;
  const PATTERN_TAG_HANDLE = /^(?:!|!!|![0-9A-Za-z-]+!)$/;
  const PATTERN_TAG_URI = /^(?:!|[^,\[\]{}])(?:%[0-9a-f]{2}|[0-9a-z\-#;/?:@&=+$,_.!~*'()\[\]])*$/i;
  function _class(obj) {
    return Object.prototype.toString.call(obj);
  }
  function isEol(c) {
    return c === 10 || c === 13;
  }
  function isWhiteSpace(c) {
    return c === 9 || c === 32;
  }
  function isWsOrEol(c) {
    return c === 9 || c === 32 || c === 10 || c === 13;
  }
  function isFlowIndicator(c) {
    return c === 44 || c === 91 || c === 93 || c === 123 || c === 125;
  }
  function fromHexCode(c) {
    if (c >= 48 && c <= 57) {
      return c - 48;
    }
    const lc = c | 32;
    if (lc >= 97 && lc <= 102) {
      return lc - 97 + 10;
    }
    return -1;
  }
  function escapedHexLen(c) {
    if (c === 120) {
      return 2;
    }
    if (c === 117) {
      return 4;
    }
    if (c === 85) {
      return 8;
    }
    return 0;
  }
  function fromDecimalCode(c) {
    if (c >= 48 && c <= 57) {
      return c - 48;
    }
    return -1;
  }
  function simpleEscapeSequence(c) {
    switch (c) {
      case 48:
        return "\0";
      case 97:
        return "\x07";
      case 98:
        return "\b";
      case 116:
        return "	";
      case 9:
        return "	";
      case 110:
        return "\n";
      case 118:
        return "\v";
      case 102:
        return "\f";
      case 114:
        return "\r";
      case 101:
        return "\x1B";
      case 32:
        return " ";
      case 34:
        return '"';
      case 47:
        return "/";
      case 92:
        return "\\";
      case 78:
        return "";
      case 95:
        return " ";
      case 76:
        return "\u2028";
      case 80:
        return "\u2029";
      default:
        return "";
    }
  }
  function charFromCodepoint(c) {
    if (c <= 65535) {
      return String.fromCharCode(c);
    }
    return String.fromCharCode(
      (c - 65536 >> 10) + 55296,
      (c - 65536 & 1023) + 56320
    );
  }
  function setProperty(object, key, value) {
    if (key === "__proto__") {
      Object.defineProperty(object, key, {
        configurable: true,
        enumerable: true,
        writable: true,
        value
      });
    } else {
      object[key] = value;
    }
  }
  const simpleEscapeCheck = new Array(256);
  const simpleEscapeMap = new Array(256);
  for (let i = 0; i < 256; i++) {
    simpleEscapeCheck[i] = simpleEscapeSequence(i) ? 1 : 0;
    simpleEscapeMap[i] = simpleEscapeSequence(i);
  }
  function State(input, options) {
    this.input = input;
    this.filename = options["filename"] || null;
    this.schema = options["schema"] || DEFAULT_SCHEMA2;
    this.onWarning = options["onWarning"] || null;
    this.legacy = options["legacy"] || false;
    this.json = options["json"] || false;
    this.listener = options["listener"] || null;
    this.maxDepth = typeof options["maxDepth"] === "number" ? options["maxDepth"] : 100;
    this.maxTotalMergeKeys = typeof options["maxTotalMergeKeys"] === "number" ? options["maxTotalMergeKeys"] : 1e4;
    this.implicitTypes = this.schema.compiledImplicit;
    this.typeMap = this.schema.compiledTypeMap;
    this.length = input.length;
    this.position = 0;
    this.line = 0;
    this.lineStart = 0;
    this.lineIndent = 0;
    this.depth = 0;
    this.totalMergeKeys = 0;
    this.firstTabInLine = -1;
    this.documents = [];
    this.anchorMapTransactions = [];
  }
  function generateError(state, message) {
    const mark = {
      name: state.filename,
      buffer: state.input.slice(0, -1),
      // omit trailing \0
      position: state.position,
      line: state.line,
      column: state.position - state.lineStart
    };
    mark.snippet = makeSnippet(mark);
    return new YAMLException2(message, mark);
  }
  function throwError(state, message) {
    throw generateError(state, message);
  }
  function throwWarning(state, message) {
    if (state.onWarning) {
      state.onWarning.call(null, generateError(state, message));
    }
  }
  function storeAnchor(state, name, value) {
    const transactions = state.anchorMapTransactions;
    if (transactions.length !== 0) {
      const transaction = transactions[transactions.length - 1];
      if (!_hasOwnProperty.call(transaction, name)) {
        transaction[name] = {
          existed: _hasOwnProperty.call(state.anchorMap, name),
          value: state.anchorMap[name]
        };
      }
    }
    state.anchorMap[name] = value;
  }
  function beginAnchorTransaction(state) {
    state.anchorMapTransactions.push(/* @__PURE__ */ Object.create(null));
  }
  function commitAnchorTransaction(state) {
    const transaction = state.anchorMapTransactions.pop();
    const transactions = state.anchorMapTransactions;
    if (transactions.length === 0) return;
    const parent = transactions[transactions.length - 1];
    const names = Object.keys(transaction);
    for (let index = 0, length = names.length; index < length; index += 1) {
      const name = names[index];
      if (!_hasOwnProperty.call(parent, name)) {
        parent[name] = transaction[name];
      }
    }
  }
  function rollbackAnchorTransaction(state) {
    const transaction = state.anchorMapTransactions.pop();
    const names = Object.keys(transaction);
    for (let index = names.length - 1; index >= 0; index -= 1) {
      const entry = transaction[names[index]];
      if (entry.existed) {
        state.anchorMap[names[index]] = entry.value;
      } else {
        delete state.anchorMap[names[index]];
      }
    }
  }
  function snapshotState(state) {
    return {
      position: state.position,
      line: state.line,
      lineStart: state.lineStart,
      lineIndent: state.lineIndent,
      firstTabInLine: state.firstTabInLine,
      tag: state.tag,
      anchor: state.anchor,
      kind: state.kind,
      result: state.result
    };
  }
  function restoreState(state, snapshot) {
    state.position = snapshot.position;
    state.line = snapshot.line;
    state.lineStart = snapshot.lineStart;
    state.lineIndent = snapshot.lineIndent;
    state.firstTabInLine = snapshot.firstTabInLine;
    state.tag = snapshot.tag;
    state.anchor = snapshot.anchor;
    state.kind = snapshot.kind;
    state.result = snapshot.result;
  }
  const directiveHandlers = {
    YAML: function handleYamlDirective(state, name, args) {
      if (state.version !== null) {
        throwError(state, "duplication of %YAML directive");
      }
      if (args.length !== 1) {
        throwError(state, "YAML directive accepts exactly one argument");
      }
      const match = /^([0-9]+)\.([0-9]+)$/.exec(args[0]);
      if (match === null) {
        throwError(state, "ill-formed argument of the YAML directive");
      }
      const major = parseInt(match[1], 10);
      const minor = parseInt(match[2], 10);
      if (major !== 1) {
        throwError(state, "unacceptable YAML version of the document");
      }
      state.version = args[0];
      state.checkLineBreaks = minor < 2;
      if (minor !== 1 && minor !== 2) {
        throwWarning(state, "unsupported YAML version of the document");
      }
    },
    TAG: function handleTagDirective(state, name, args) {
      let prefix;
      if (args.length !== 2) {
        throwError(state, "TAG directive accepts exactly two arguments");
      }
      const handle = args[0];
      prefix = args[1];
      if (!PATTERN_TAG_HANDLE.test(handle)) {
        throwError(state, "ill-formed tag handle (first argument) of the TAG directive");
      }
      if (_hasOwnProperty.call(state.tagMap, handle)) {
        throwError(state, 'there is a previously declared suffix for "' + handle + '" tag handle');
      }
      if (!PATTERN_TAG_URI.test(prefix)) {
        throwError(state, "ill-formed tag prefix (second argument) of the TAG directive");
      }
      try {
        prefix = decodeURIComponent(prefix);
      } catch (err) {
        throwError(state, "tag prefix is malformed: " + prefix);
      }
      state.tagMap[handle] = prefix;
    }
  };
  function captureSegment(state, start, end, checkJson) {
    if (start < end) {
      const _result = state.input.slice(start, end);
      if (checkJson) {
        for (let _position = 0, _length = _result.length; _position < _length; _position += 1) {
          const _character = _result.charCodeAt(_position);
          if (!(_character === 9 || _character >= 32 && _character <= 1114111)) {
            throwError(state, "expected valid JSON character");
          }
        }
      } else if (PATTERN_NON_PRINTABLE.test(_result)) {
        throwError(state, "the stream contains non-printable characters");
      }
      state.result += _result;
    }
  }
  function chargeMergeWork(state) {
    state.totalMergeKeys++;
    if (state.maxTotalMergeKeys !== -1 && state.totalMergeKeys > state.maxTotalMergeKeys) {
      throwError(state, "merge keys exceeded maxTotalMergeKeys (" + state.maxTotalMergeKeys + ")");
    }
  }
  function mergeMappings(state, destination, source, overridableKeys) {
    if (!common2.isObject(source)) {
      throwError(state, "cannot merge mappings; the provided source object is unacceptable");
    }
    chargeMergeWork(state);
    const sourceKeys = Object.keys(source);
    for (let index = 0, quantity = sourceKeys.length; index < quantity; index += 1) {
      const key = sourceKeys[index];
      chargeMergeWork(state);
      if (!_hasOwnProperty.call(destination, key)) {
        setProperty(destination, key, source[key]);
        overridableKeys[key] = true;
      }
    }
  }
  function storeMappingPair(state, _result, overridableKeys, keyTag, keyNode, valueNode, startLine, startLineStart, startPos) {
    if (Array.isArray(keyNode)) {
      keyNode = Array.prototype.slice.call(keyNode);
      for (let index = 0, quantity = keyNode.length; index < quantity; index += 1) {
        if (Array.isArray(keyNode[index])) {
          throwError(state, "nested arrays are not supported inside keys");
        }
        if (typeof keyNode === "object" && _class(keyNode[index]) === "[object Object]") {
          keyNode[index] = "[object Object]";
        }
      }
    }
    if (typeof keyNode === "object" && _class(keyNode) === "[object Object]") {
      keyNode = "[object Object]";
    }
    keyNode = String(keyNode);
    if (_result === null) {
      _result = {};
    }
    if (keyTag === "tag:yaml.org,2002:merge") {
      if (Array.isArray(valueNode)) {
        if (valueNode.length > 100) {
          throwError(state, "abnormal merge sequence size");
        }
        for (let index = 0, quantity = valueNode.length; index < quantity; index += 1) {
          mergeMappings(state, _result, valueNode[index], overridableKeys);
        }
      } else {
        mergeMappings(state, _result, valueNode, overridableKeys);
      }
    } else {
      if (!state.json && !_hasOwnProperty.call(overridableKeys, keyNode) && _hasOwnProperty.call(_result, keyNode)) {
        state.line = startLine || state.line;
        state.lineStart = startLineStart || state.lineStart;
        state.position = startPos || state.position;
        throwError(state, "duplicated mapping key");
      }
      setProperty(_result, keyNode, valueNode);
      delete overridableKeys[keyNode];
    }
    return _result;
  }
  function readLineBreak(state) {
    const ch = state.input.charCodeAt(state.position);
    if (ch === 10) {
      state.position++;
    } else if (ch === 13) {
      state.position++;
      if (state.input.charCodeAt(state.position) === 10) {
        state.position++;
      }
    } else {
      throwError(state, "a line break is expected");
    }
    state.line += 1;
    state.lineStart = state.position;
    state.firstTabInLine = -1;
  }
  function skipSeparationSpace(state, allowComments, checkIndent) {
    let lineBreaks = 0;
    let ch = state.input.charCodeAt(state.position);
    while (ch !== 0) {
      while (isWhiteSpace(ch)) {
        if (ch === 9 && state.firstTabInLine === -1) {
          state.firstTabInLine = state.position;
        }
        ch = state.input.charCodeAt(++state.position);
      }
      if (allowComments && ch === 35) {
        do {
          ch = state.input.charCodeAt(++state.position);
        } while (ch !== 10 && ch !== 13 && ch !== 0);
      }
      if (isEol(ch)) {
        readLineBreak(state);
        ch = state.input.charCodeAt(state.position);
        lineBreaks++;
        state.lineIndent = 0;
        while (ch === 32) {
          state.lineIndent++;
          ch = state.input.charCodeAt(++state.position);
        }
      } else {
        break;
      }
    }
    if (checkIndent !== -1 && lineBreaks !== 0 && state.lineIndent < checkIndent) {
      throwWarning(state, "deficient indentation");
    }
    return lineBreaks;
  }
  function testDocumentSeparator(state) {
    let _position = state.position;
    let ch = state.input.charCodeAt(_position);
    if ((ch === 45 || ch === 46) && ch === state.input.charCodeAt(_position + 1) && ch === state.input.charCodeAt(_position + 2)) {
      _position += 3;
      ch = state.input.charCodeAt(_position);
      if (ch === 0 || isWsOrEol(ch)) {
        return true;
      }
    }
    return false;
  }
  function writeFoldedLines(state, count) {
    if (count === 1) {
      state.result += " ";
    } else if (count > 1) {
      state.result += common2.repeat("\n", count - 1);
    }
  }
  function readPlainScalar(state, nodeIndent, withinFlowCollection) {
    let captureStart;
    let captureEnd;
    let hasPendingContent;
    let _line;
    let _lineStart;
    let _lineIndent;
    const _kind = state.kind;
    const _result = state.result;
    let ch = state.input.charCodeAt(state.position);
    if (isWsOrEol(ch) || isFlowIndicator(ch) || ch === 35 || ch === 38 || ch === 42 || ch === 33 || ch === 124 || ch === 62 || ch === 39 || ch === 34 || ch === 37 || ch === 64 || ch === 96) {
      return false;
    }
    if (ch === 63 || ch === 45) {
      const following = state.input.charCodeAt(state.position + 1);
      if (isWsOrEol(following) || withinFlowCollection && isFlowIndicator(following)) {
        return false;
      }
    }
    state.kind = "scalar";
    state.result = "";
    captureStart = captureEnd = state.position;
    hasPendingContent = false;
    while (ch !== 0) {
      if (ch === 58) {
        const following = state.input.charCodeAt(state.position + 1);
        if (isWsOrEol(following) || withinFlowCollection && isFlowIndicator(following)) {
          break;
        }
      } else if (ch === 35) {
        const preceding = state.input.charCodeAt(state.position - 1);
        if (isWsOrEol(preceding)) {
          break;
        }
      } else if (state.position === state.lineStart && testDocumentSeparator(state) || withinFlowCollection && isFlowIndicator(ch)) {
        break;
      } else if (isEol(ch)) {
        _line = state.line;
        _lineStart = state.lineStart;
        _lineIndent = state.lineIndent;
        skipSeparationSpace(state, false, -1);
        if (state.lineIndent >= nodeIndent) {
          hasPendingContent = true;
          ch = state.input.charCodeAt(state.position);
          continue;
        } else {
          state.position = captureEnd;
          state.line = _line;
          state.lineStart = _lineStart;
          state.lineIndent = _lineIndent;
          break;
        }
      }
      if (hasPendingContent) {
        captureSegment(state, captureStart, captureEnd, false);
        writeFoldedLines(state, state.line - _line);
        captureStart = captureEnd = state.position;
        hasPendingContent = false;
      }
      if (!isWhiteSpace(ch)) {
        captureEnd = state.position + 1;
      }
      ch = state.input.charCodeAt(++state.position);
    }
    captureSegment(state, captureStart, captureEnd, false);
    if (state.result) {
      return true;
    }
    state.kind = _kind;
    state.result = _result;
    return false;
  }
  function readSingleQuotedScalar(state, nodeIndent) {
    let captureStart;
    let captureEnd;
    let ch = state.input.charCodeAt(state.position);
    if (ch !== 39) {
      return false;
    }
    state.kind = "scalar";
    state.result = "";
    state.position++;
    captureStart = captureEnd = state.position;
    while ((ch = state.input.charCodeAt(state.position)) !== 0) {
      if (ch === 39) {
        captureSegment(state, captureStart, state.position, true);
        ch = state.input.charCodeAt(++state.position);
        if (ch === 39) {
          captureStart = state.position;
          state.position++;
          captureEnd = state.position;
        } else {
          return true;
        }
      } else if (isEol(ch)) {
        captureSegment(state, captureStart, captureEnd, true);
        writeFoldedLines(state, skipSeparationSpace(state, false, nodeIndent));
        captureStart = captureEnd = state.position;
      } else if (state.position === state.lineStart && testDocumentSeparator(state)) {
        throwError(state, "unexpected end of the document within a single quoted scalar");
      } else {
        state.position++;
        if (!isWhiteSpace(ch)) {
          captureEnd = state.position;
        }
      }
    }
    throwError(state, "unexpected end of the stream within a single quoted scalar");
  }
  function readDoubleQuotedScalar(state, nodeIndent) {
    let captureStart;
    let captureEnd;
    let tmp;
    let ch = state.input.charCodeAt(state.position);
    if (ch !== 34) {
      return false;
    }
    state.kind = "scalar";
    state.result = "";
    state.position++;
    captureStart = captureEnd = state.position;
    while ((ch = state.input.charCodeAt(state.position)) !== 0) {
      if (ch === 34) {
        captureSegment(state, captureStart, state.position, true);
        state.position++;
        return true;
      } else if (ch === 92) {
        captureSegment(state, captureStart, state.position, true);
        ch = state.input.charCodeAt(++state.position);
        if (isEol(ch)) {
          skipSeparationSpace(state, false, nodeIndent);
        } else if (ch < 256 && simpleEscapeCheck[ch]) {
          state.result += simpleEscapeMap[ch];
          state.position++;
        } else if ((tmp = escapedHexLen(ch)) > 0) {
          let hexLength = tmp;
          let hexResult = 0;
          for (; hexLength > 0; hexLength--) {
            ch = state.input.charCodeAt(++state.position);
            if ((tmp = fromHexCode(ch)) >= 0) {
              hexResult = (hexResult << 4) + tmp;
            } else {
              throwError(state, "expected hexadecimal character");
            }
          }
          state.result += charFromCodepoint(hexResult);
          state.position++;
        } else {
          throwError(state, "unknown escape sequence");
        }
        captureStart = captureEnd = state.position;
      } else if (isEol(ch)) {
        captureSegment(state, captureStart, captureEnd, true);
        writeFoldedLines(state, skipSeparationSpace(state, false, nodeIndent));
        captureStart = captureEnd = state.position;
      } else if (state.position === state.lineStart && testDocumentSeparator(state)) {
        throwError(state, "unexpected end of the document within a double quoted scalar");
      } else {
        state.position++;
        if (!isWhiteSpace(ch)) {
          captureEnd = state.position;
        }
      }
    }
    throwError(state, "unexpected end of the stream within a double quoted scalar");
  }
  function readFlowCollection(state, nodeIndent) {
    let readNext = true;
    let _line;
    let _lineStart;
    let _pos;
    const _tag = state.tag;
    let _result;
    const _anchor = state.anchor;
    let terminator;
    let isPair;
    let isExplicitPair;
    let isMapping;
    const overridableKeys = /* @__PURE__ */ Object.create(null);
    let keyNode;
    let keyTag;
    let valueNode;
    let ch = state.input.charCodeAt(state.position);
    if (ch === 91) {
      terminator = 93;
      isMapping = false;
      _result = [];
    } else if (ch === 123) {
      terminator = 125;
      isMapping = true;
      _result = {};
    } else {
      return false;
    }
    if (state.anchor !== null) {
      storeAnchor(state, state.anchor, _result);
    }
    ch = state.input.charCodeAt(++state.position);
    while (ch !== 0) {
      skipSeparationSpace(state, true, nodeIndent);
      ch = state.input.charCodeAt(state.position);
      if (ch === terminator) {
        state.position++;
        state.tag = _tag;
        state.anchor = _anchor;
        state.kind = isMapping ? "mapping" : "sequence";
        state.result = _result;
        return true;
      } else if (!readNext) {
        throwError(state, "missed comma between flow collection entries");
      } else if (ch === 44) {
        throwError(state, "expected the node content, but found ','");
      }
      keyTag = keyNode = valueNode = null;
      isPair = isExplicitPair = false;
      if (ch === 63) {
        const following = state.input.charCodeAt(state.position + 1);
        if (isWsOrEol(following)) {
          isPair = isExplicitPair = true;
          state.position++;
          skipSeparationSpace(state, true, nodeIndent);
        }
      }
      _line = state.line;
      _lineStart = state.lineStart;
      _pos = state.position;
      composeNode(state, nodeIndent, CONTEXT_FLOW_IN, false, true);
      keyTag = state.tag;
      keyNode = state.result;
      skipSeparationSpace(state, true, nodeIndent);
      ch = state.input.charCodeAt(state.position);
      if ((isExplicitPair || state.line === _line) && ch === 58) {
        isPair = true;
        ch = state.input.charCodeAt(++state.position);
        skipSeparationSpace(state, true, nodeIndent);
        composeNode(state, nodeIndent, CONTEXT_FLOW_IN, false, true);
        valueNode = state.result;
      }
      if (isMapping) {
        storeMappingPair(state, _result, overridableKeys, keyTag, keyNode, valueNode, _line, _lineStart, _pos);
      } else if (isPair) {
        _result.push(storeMappingPair(state, null, overridableKeys, keyTag, keyNode, valueNode, _line, _lineStart, _pos));
      } else {
        _result.push(keyNode);
      }
      skipSeparationSpace(state, true, nodeIndent);
      ch = state.input.charCodeAt(state.position);
      if (ch === 44) {
        readNext = true;
        ch = state.input.charCodeAt(++state.position);
      } else {
        readNext = false;
      }
    }
    throwError(state, "unexpected end of the stream within a flow collection");
  }
  function readBlockScalar(state, nodeIndent) {
    let folding;
    let chomping = CHOMPING_CLIP;
    let didReadContent = false;
    let detectedIndent = false;
    let textIndent = nodeIndent;
    let emptyLines = 0;
    let atMoreIndented = false;
    let tmp;
    let ch = state.input.charCodeAt(state.position);
    if (ch === 124) {
      folding = false;
    } else if (ch === 62) {
      folding = true;
    } else {
      return false;
    }
    state.kind = "scalar";
    state.result = "";
    while (ch !== 0) {
      ch = state.input.charCodeAt(++state.position);
      if (ch === 43 || ch === 45) {
        if (CHOMPING_CLIP === chomping) {
          chomping = ch === 43 ? CHOMPING_KEEP : CHOMPING_STRIP;
        } else {
          throwError(state, "repeat of a chomping mode identifier");
        }
      } else if ((tmp = fromDecimalCode(ch)) >= 0) {
        if (tmp === 0) {
          throwError(state, "bad explicit indentation width of a block scalar; it cannot be less than one");
        } else if (!detectedIndent) {
          textIndent = nodeIndent + tmp - 1;
          detectedIndent = true;
        } else {
          throwError(state, "repeat of an indentation width identifier");
        }
      } else {
        break;
      }
    }
    if (isWhiteSpace(ch)) {
      do {
        ch = state.input.charCodeAt(++state.position);
      } while (isWhiteSpace(ch));
      if (ch === 35) {
        do {
          ch = state.input.charCodeAt(++state.position);
        } while (!isEol(ch) && ch !== 0);
      }
    }
    while (ch !== 0) {
      readLineBreak(state);
      state.lineIndent = 0;
      ch = state.input.charCodeAt(state.position);
      while ((!detectedIndent || state.lineIndent < textIndent) && ch === 32) {
        state.lineIndent++;
        ch = state.input.charCodeAt(++state.position);
      }
      if (!detectedIndent && state.lineIndent > textIndent) {
        textIndent = state.lineIndent;
      }
      if (isEol(ch)) {
        emptyLines++;
        continue;
      }
      if (!detectedIndent && textIndent === 0) {
        throwError(state, "missing indentation for block scalar");
      }
      if (state.lineIndent < textIndent) {
        if (chomping === CHOMPING_KEEP) {
          state.result += common2.repeat("\n", didReadContent ? 1 + emptyLines : emptyLines);
        } else if (chomping === CHOMPING_CLIP) {
          if (didReadContent) {
            state.result += "\n";
          }
        }
        break;
      }
      if (folding) {
        if (isWhiteSpace(ch)) {
          atMoreIndented = true;
          state.result += common2.repeat("\n", didReadContent ? 1 + emptyLines : emptyLines);
        } else if (atMoreIndented) {
          atMoreIndented = false;
          state.result += common2.repeat("\n", emptyLines + 1);
        } else if (emptyLines === 0) {
          if (didReadContent) {
            state.result += " ";
          }
        } else {
          state.result += common2.repeat("\n", emptyLines);
        }
      } else {
        state.result += common2.repeat("\n", didReadContent ? 1 + emptyLines : emptyLines);
      }
      didReadContent = true;
      detectedIndent = true;
      emptyLines = 0;
      const captureStart = state.position;
      while (!isEol(ch) && ch !== 0) {
        ch = state.input.charCodeAt(++state.position);
      }
      captureSegment(state, captureStart, state.position, false);
    }
    return true;
  }
  function readBlockSequence(state, nodeIndent) {
    const _tag = state.tag;
    const _anchor = state.anchor;
    const _result = [];
    let detected = false;
    if (state.firstTabInLine !== -1) return false;
    if (state.anchor !== null) {
      storeAnchor(state, state.anchor, _result);
    }
    let ch = state.input.charCodeAt(state.position);
    while (ch !== 0) {
      if (state.firstTabInLine !== -1) {
        state.position = state.firstTabInLine;
        throwError(state, "tab characters must not be used in indentation");
      }
      if (ch !== 45) {
        break;
      }
      const following = state.input.charCodeAt(state.position + 1);
      if (!isWsOrEol(following)) {
        break;
      }
      detected = true;
      state.position++;
      if (skipSeparationSpace(state, true, -1)) {
        if (state.lineIndent <= nodeIndent) {
          _result.push(null);
          ch = state.input.charCodeAt(state.position);
          continue;
        }
      }
      const _line = state.line;
      composeNode(state, nodeIndent, CONTEXT_BLOCK_IN, false, true);
      _result.push(state.result);
      skipSeparationSpace(state, true, -1);
      ch = state.input.charCodeAt(state.position);
      if ((state.line === _line || state.lineIndent > nodeIndent) && ch !== 0) {
        throwError(state, "bad indentation of a sequence entry");
      } else if (state.lineIndent < nodeIndent) {
        break;
      }
    }
    if (detected) {
      state.tag = _tag;
      state.anchor = _anchor;
      state.kind = "sequence";
      state.result = _result;
      return true;
    }
    return false;
  }
  function readBlockMapping(state, nodeIndent, flowIndent) {
    let allowCompact;
    let _keyLine;
    let _keyLineStart;
    let _keyPos;
    const _tag = state.tag;
    const _anchor = state.anchor;
    const _result = {};
    const overridableKeys = /* @__PURE__ */ Object.create(null);
    let keyTag = null;
    let keyNode = null;
    let valueNode = null;
    let atExplicitKey = false;
    let detected = false;
    if (state.firstTabInLine !== -1) return false;
    if (state.anchor !== null) {
      storeAnchor(state, state.anchor, _result);
    }
    let ch = state.input.charCodeAt(state.position);
    while (ch !== 0) {
      if (!atExplicitKey && state.firstTabInLine !== -1) {
        state.position = state.firstTabInLine;
        throwError(state, "tab characters must not be used in indentation");
      }
      const following = state.input.charCodeAt(state.position + 1);
      const _line = state.line;
      if ((ch === 63 || ch === 58) && isWsOrEol(following)) {
        if (ch === 63) {
          if (atExplicitKey) {
            storeMappingPair(state, _result, overridableKeys, keyTag, keyNode, null, _keyLine, _keyLineStart, _keyPos);
            keyTag = keyNode = valueNode = null;
          }
          detected = true;
          atExplicitKey = true;
          allowCompact = true;
        } else if (atExplicitKey) {
          atExplicitKey = false;
          allowCompact = true;
        } else {
          throwError(state, "incomplete explicit mapping pair; a key node is missed; or followed by a non-tabulated empty line");
        }
        state.position += 1;
        ch = following;
      } else {
        _keyLine = state.line;
        _keyLineStart = state.lineStart;
        _keyPos = state.position;
        if (!composeNode(state, flowIndent, CONTEXT_FLOW_OUT, false, true)) {
          break;
        }
        if (state.line === _line) {
          ch = state.input.charCodeAt(state.position);
          while (isWhiteSpace(ch)) {
            ch = state.input.charCodeAt(++state.position);
          }
          if (ch === 58) {
            ch = state.input.charCodeAt(++state.position);
            if (!isWsOrEol(ch)) {
              throwError(state, "a whitespace character is expected after the key-value separator within a block mapping");
            }
            if (atExplicitKey) {
              storeMappingPair(state, _result, overridableKeys, keyTag, keyNode, null, _keyLine, _keyLineStart, _keyPos);
              keyTag = keyNode = valueNode = null;
            }
            detected = true;
            atExplicitKey = false;
            allowCompact = false;
            keyTag = state.tag;
            keyNode = state.result;
          } else if (detected) {
            throwError(state, "can not read an implicit mapping pair; a colon is missed");
          } else {
            state.tag = _tag;
            state.anchor = _anchor;
            return true;
          }
        } else if (detected) {
          throwError(state, "can not read a block mapping entry; a multiline key may not be an implicit key");
        } else {
          state.tag = _tag;
          state.anchor = _anchor;
          return true;
        }
      }
      if (state.line === _line || state.lineIndent > nodeIndent) {
        if (atExplicitKey) {
          _keyLine = state.line;
          _keyLineStart = state.lineStart;
          _keyPos = state.position;
        }
        if (composeNode(state, nodeIndent, CONTEXT_BLOCK_OUT, true, allowCompact)) {
          if (atExplicitKey) {
            keyNode = state.result;
          } else {
            valueNode = state.result;
          }
        }
        if (!atExplicitKey) {
          storeMappingPair(state, _result, overridableKeys, keyTag, keyNode, valueNode, _keyLine, _keyLineStart, _keyPos);
          keyTag = keyNode = valueNode = null;
        }
        skipSeparationSpace(state, true, -1);
        ch = state.input.charCodeAt(state.position);
      }
      if ((state.line === _line || state.lineIndent > nodeIndent) && ch !== 0) {
        throwError(state, "bad indentation of a mapping entry");
      } else if (state.lineIndent < nodeIndent) {
        break;
      }
    }
    if (atExplicitKey) {
      storeMappingPair(state, _result, overridableKeys, keyTag, keyNode, null, _keyLine, _keyLineStart, _keyPos);
    }
    if (detected) {
      state.tag = _tag;
      state.anchor = _anchor;
      state.kind = "mapping";
      state.result = _result;
    }
    return detected;
  }
  function readTagProperty(state) {
    let isVerbatim = false;
    let isNamed = false;
    let tagHandle;
    let tagName;
    let ch = state.input.charCodeAt(state.position);
    if (ch !== 33) return false;
    if (state.tag !== null) {
      throwError(state, "duplication of a tag property");
    }
    ch = state.input.charCodeAt(++state.position);
    if (ch === 60) {
      isVerbatim = true;
      ch = state.input.charCodeAt(++state.position);
    } else if (ch === 33) {
      isNamed = true;
      tagHandle = "!!";
      ch = state.input.charCodeAt(++state.position);
    } else {
      tagHandle = "!";
    }
    let _position = state.position;
    if (isVerbatim) {
      do {
        ch = state.input.charCodeAt(++state.position);
      } while (ch !== 0 && ch !== 62);
      if (state.position < state.length) {
        tagName = state.input.slice(_position, state.position);
        ch = state.input.charCodeAt(++state.position);
      } else {
        throwError(state, "unexpected end of the stream within a verbatim tag");
      }
    } else {
      while (ch !== 0 && !isWsOrEol(ch)) {
        if (ch === 33) {
          if (!isNamed) {
            tagHandle = state.input.slice(_position - 1, state.position + 1);
            if (!PATTERN_TAG_HANDLE.test(tagHandle)) {
              throwError(state, "named tag handle cannot contain such characters");
            }
            isNamed = true;
            _position = state.position + 1;
          } else {
            throwError(state, "tag suffix cannot contain exclamation marks");
          }
        }
        ch = state.input.charCodeAt(++state.position);
      }
      tagName = state.input.slice(_position, state.position);
      if (PATTERN_FLOW_INDICATORS.test(tagName)) {
        throwError(state, "tag suffix cannot contain flow indicator characters");
      }
    }
    if (tagName && !PATTERN_TAG_URI.test(tagName)) {
      throwError(state, "tag name cannot contain such characters: " + tagName);
    }
    try {
      tagName = decodeURIComponent(tagName);
    } catch (err) {
      throwError(state, "tag name is malformed: " + tagName);
    }
    if (isVerbatim) {
      state.tag = tagName;
    } else if (_hasOwnProperty.call(state.tagMap, tagHandle)) {
      state.tag = state.tagMap[tagHandle] + tagName;
    } else if (tagHandle === "!") {
      state.tag = "!" + tagName;
    } else if (tagHandle === "!!") {
      state.tag = "tag:yaml.org,2002:" + tagName;
    } else {
      throwError(state, 'undeclared tag handle "' + tagHandle + '"');
    }
    return true;
  }
  function readAnchorProperty(state) {
    let ch = state.input.charCodeAt(state.position);
    if (ch !== 38) return false;
    if (state.anchor !== null) {
      throwError(state, "duplication of an anchor property");
    }
    ch = state.input.charCodeAt(++state.position);
    const _position = state.position;
    while (ch !== 0 && !isWsOrEol(ch) && !isFlowIndicator(ch)) {
      ch = state.input.charCodeAt(++state.position);
    }
    if (state.position === _position) {
      throwError(state, "name of an anchor node must contain at least one character");
    }
    state.anchor = state.input.slice(_position, state.position);
    return true;
  }
  function readAlias(state) {
    let ch = state.input.charCodeAt(state.position);
    if (ch !== 42) return false;
    ch = state.input.charCodeAt(++state.position);
    const _position = state.position;
    while (ch !== 0 && !isWsOrEol(ch) && !isFlowIndicator(ch)) {
      ch = state.input.charCodeAt(++state.position);
    }
    if (state.position === _position) {
      throwError(state, "name of an alias node must contain at least one character");
    }
    const alias = state.input.slice(_position, state.position);
    if (!_hasOwnProperty.call(state.anchorMap, alias)) {
      throwError(state, 'unidentified alias "' + alias + '"');
    }
    state.result = state.anchorMap[alias];
    skipSeparationSpace(state, true, -1);
    return true;
  }
  function tryReadBlockMappingFromProperty(state, propertyStart, nodeIndent, flowIndent) {
    const fallbackState = snapshotState(state);
    beginAnchorTransaction(state);
    restoreState(state, propertyStart);
    state.tag = null;
    state.anchor = null;
    state.kind = null;
    state.result = null;
    if (readBlockMapping(state, nodeIndent, flowIndent) && state.kind === "mapping") {
      commitAnchorTransaction(state);
      return true;
    }
    rollbackAnchorTransaction(state);
    restoreState(state, fallbackState);
    return false;
  }
  function composeNode(state, parentIndent, nodeContext, allowToSeek, allowCompact) {
    let allowBlockScalars;
    let allowBlockCollections;
    let indentStatus = 1;
    let atNewLine = false;
    let hasContent = false;
    let propertyStart = null;
    let type2;
    let flowIndent;
    let blockIndent;
    if (state.depth >= state.maxDepth) {
      throwError(state, "nesting exceeded maxDepth (" + state.maxDepth + ")");
    }
    state.depth += 1;
    if (state.listener !== null) {
      state.listener("open", state);
    }
    state.tag = null;
    state.anchor = null;
    state.kind = null;
    state.result = null;
    const allowBlockStyles = allowBlockScalars = allowBlockCollections = CONTEXT_BLOCK_OUT === nodeContext || CONTEXT_BLOCK_IN === nodeContext;
    if (allowToSeek) {
      if (skipSeparationSpace(state, true, -1)) {
        atNewLine = true;
        if (state.lineIndent > parentIndent) {
          indentStatus = 1;
        } else if (state.lineIndent === parentIndent) {
          indentStatus = 0;
        } else if (state.lineIndent < parentIndent) {
          indentStatus = -1;
        }
      }
    }
    if (indentStatus === 1) {
      while (true) {
        const ch = state.input.charCodeAt(state.position);
        const propertyState = snapshotState(state);
        if (atNewLine && (ch === 33 && state.tag !== null || ch === 38 && state.anchor !== null)) {
          break;
        }
        if (!readTagProperty(state) && !readAnchorProperty(state)) {
          break;
        }
        if (propertyStart === null) {
          propertyStart = propertyState;
        }
        if (skipSeparationSpace(state, true, -1)) {
          atNewLine = true;
          allowBlockCollections = allowBlockStyles;
          if (state.lineIndent > parentIndent) {
            indentStatus = 1;
          } else if (state.lineIndent === parentIndent) {
            indentStatus = 0;
          } else if (state.lineIndent < parentIndent) {
            indentStatus = -1;
          }
        } else {
          allowBlockCollections = false;
        }
      }
    }
    if (allowBlockCollections) {
      allowBlockCollections = atNewLine || allowCompact;
    }
    if (indentStatus === 1 || CONTEXT_BLOCK_OUT === nodeContext) {
      if (CONTEXT_FLOW_IN === nodeContext || CONTEXT_FLOW_OUT === nodeContext) {
        flowIndent = parentIndent;
      } else {
        flowIndent = parentIndent + 1;
      }
      blockIndent = state.position - state.lineStart;
      if (indentStatus === 1) {
        if (allowBlockCollections && (readBlockSequence(state, blockIndent) || readBlockMapping(state, blockIndent, flowIndent)) || readFlowCollection(state, flowIndent)) {
          hasContent = true;
        } else {
          const ch = state.input.charCodeAt(state.position);
          if (propertyStart !== null && allowBlockStyles && !allowBlockCollections && ch !== 124 && ch !== 62 && tryReadBlockMappingFromProperty(
            state,
            propertyStart,
            propertyStart.position - propertyStart.lineStart,
            flowIndent
          )) {
            hasContent = true;
          } else if (allowBlockScalars && readBlockScalar(state, flowIndent) || readSingleQuotedScalar(state, flowIndent) || readDoubleQuotedScalar(state, flowIndent)) {
            hasContent = true;
          } else if (readAlias(state)) {
            hasContent = true;
            if (state.tag !== null || state.anchor !== null) {
              throwError(state, "alias node should not have any properties");
            }
          } else if (readPlainScalar(state, flowIndent, CONTEXT_FLOW_IN === nodeContext)) {
            hasContent = true;
            if (state.tag === null) {
              state.tag = "?";
            }
          }
          if (state.anchor !== null) {
            storeAnchor(state, state.anchor, state.result);
          }
        }
      } else if (indentStatus === 0) {
        hasContent = allowBlockCollections && readBlockSequence(state, blockIndent);
      }
    }
    if (state.tag === null) {
      if (state.anchor !== null) {
        storeAnchor(state, state.anchor, state.result);
      }
    } else if (state.tag === "?") {
      if (state.result !== null && state.kind !== "scalar") {
        throwError(state, 'unacceptable node kind for !<?> tag; it should be "scalar", not "' + state.kind + '"');
      }
      for (let typeIndex = 0, typeQuantity = state.implicitTypes.length; typeIndex < typeQuantity; typeIndex += 1) {
        type2 = state.implicitTypes[typeIndex];
        if (type2.resolve(state.result)) {
          state.result = type2.construct(state.result);
          state.tag = type2.tag;
          if (state.anchor !== null) {
            storeAnchor(state, state.anchor, state.result);
          }
          break;
        }
      }
    } else if (state.tag !== "!") {
      if (_hasOwnProperty.call(state.typeMap[state.kind || "fallback"], state.tag)) {
        type2 = state.typeMap[state.kind || "fallback"][state.tag];
      } else {
        type2 = null;
        const typeList = state.typeMap.multi[state.kind || "fallback"];
        for (let typeIndex = 0, typeQuantity = typeList.length; typeIndex < typeQuantity; typeIndex += 1) {
          if (state.tag.slice(0, typeList[typeIndex].tag.length) === typeList[typeIndex].tag) {
            type2 = typeList[typeIndex];
            break;
          }
        }
      }
      if (!type2) {
        throwError(state, "unknown tag !<" + state.tag + ">");
      }
      if (state.result !== null && type2.kind !== state.kind) {
        throwError(state, "unacceptable node kind for !<" + state.tag + '> tag; it should be "' + type2.kind + '", not "' + state.kind + '"');
      }
      if (!type2.resolve(state.result, state.tag)) {
        throwError(state, "cannot resolve a node with !<" + state.tag + "> explicit tag");
      } else {
        state.result = type2.construct(state.result, state.tag);
        if (state.anchor !== null) {
          storeAnchor(state, state.anchor, state.result);
        }
      }
    }
    if (state.listener !== null) {
      state.listener("close", state);
    }
    state.depth -= 1;
    return state.tag !== null || state.anchor !== null || hasContent;
  }
  function readDocument(state) {
    const documentStart = state.position;
    let hasDirectives = false;
    let ch;
    state.version = null;
    state.checkLineBreaks = state.legacy;
    state.tagMap = /* @__PURE__ */ Object.create(null);
    state.anchorMap = /* @__PURE__ */ Object.create(null);
    while ((ch = state.input.charCodeAt(state.position)) !== 0) {
      skipSeparationSpace(state, true, -1);
      ch = state.input.charCodeAt(state.position);
      if (state.lineIndent > 0 || ch !== 37) {
        break;
      }
      hasDirectives = true;
      ch = state.input.charCodeAt(++state.position);
      let _position = state.position;
      while (ch !== 0 && !isWsOrEol(ch)) {
        ch = state.input.charCodeAt(++state.position);
      }
      const directiveName = state.input.slice(_position, state.position);
      const directiveArgs = [];
      if (directiveName.length < 1) {
        throwError(state, "directive name must not be less than one character in length");
      }
      while (ch !== 0) {
        while (isWhiteSpace(ch)) {
          ch = state.input.charCodeAt(++state.position);
        }
        if (ch === 35) {
          do {
            ch = state.input.charCodeAt(++state.position);
          } while (ch !== 0 && !isEol(ch));
          break;
        }
        if (isEol(ch)) break;
        _position = state.position;
        while (ch !== 0 && !isWsOrEol(ch)) {
          ch = state.input.charCodeAt(++state.position);
        }
        directiveArgs.push(state.input.slice(_position, state.position));
      }
      if (ch !== 0) readLineBreak(state);
      if (_hasOwnProperty.call(directiveHandlers, directiveName)) {
        directiveHandlers[directiveName](state, directiveName, directiveArgs);
      } else {
        throwWarning(state, 'unknown document directive "' + directiveName + '"');
      }
    }
    skipSeparationSpace(state, true, -1);
    if (state.lineIndent === 0 && state.input.charCodeAt(state.position) === 45 && state.input.charCodeAt(state.position + 1) === 45 && state.input.charCodeAt(state.position + 2) === 45) {
      state.position += 3;
      skipSeparationSpace(state, true, -1);
    } else if (hasDirectives) {
      throwError(state, "directives end mark is expected");
    }
    composeNode(state, state.lineIndent - 1, CONTEXT_BLOCK_OUT, false, true);
    skipSeparationSpace(state, true, -1);
    if (state.checkLineBreaks && PATTERN_NON_ASCII_LINE_BREAKS.test(state.input.slice(documentStart, state.position))) {
      throwWarning(state, "non-ASCII line breaks are interpreted as content");
    }
    state.documents.push(state.result);
    if (state.position === state.lineStart && testDocumentSeparator(state)) {
      if (state.input.charCodeAt(state.position) === 46) {
        state.position += 3;
        skipSeparationSpace(state, true, -1);
      }
      return;
    }
    if (state.position < state.length - 1) {
      throwError(state, "end of the stream or a document separator is expected");
    }
  }
  function loadDocuments(input, options) {
    input = String(input);
    options = options || {};
    if (input.length !== 0) {
      if (input.charCodeAt(input.length - 1) !== 10 && input.charCodeAt(input.length - 1) !== 13) {
        input += "\n";
      }
      if (input.charCodeAt(0) === 65279) {
        input = input.slice(1);
      }
    }
    const state = new State(input, options);
    const nullpos = input.indexOf("\0");
    if (nullpos !== -1) {
      state.position = nullpos;
      throwError(state, "null byte is not allowed in input");
    }
    state.input += "\0";
    while (state.input.charCodeAt(state.position) === 32) {
      state.lineIndent += 1;
      state.position += 1;
    }
    while (state.position < state.length - 1) {
      readDocument(state);
    }
    return state.documents;
  }
  function loadAll2(input, iterator, options) {
    if (iterator !== null && typeof iterator === "object" && typeof options === "undefined") {
      options = iterator;
      iterator = null;
    }
    const documents = loadDocuments(input, options);
    if (typeof iterator !== "function") {
      return documents;
    }
    for (let index = 0, length = documents.length; index < length; index += 1) {
      iterator(documents[index]);
    }
  }
  function load2(input, options) {
    const documents = loadDocuments(input, options);
    if (documents.length === 0) {
      return void 0;
    } else if (documents.length === 1) {
      return documents[0];
    }
    throw new YAMLException2("expected a single document in the stream, but found more");
  }
  loader.loadAll = loadAll2;
  loader.load = load2;
  return loader;
}
var dumper = {};
var hasRequiredDumper;
function requireDumper() {
  if (hasRequiredDumper) return dumper;
  hasRequiredDumper = 1;
  const common2 = requireCommon();
  const YAMLException2 = requireException();
  const DEFAULT_SCHEMA2 = require_default();
  const _toString = Object.prototype.toString;
  const _hasOwnProperty = Object.prototype.hasOwnProperty;
  const CHAR_BOM = 65279;
  const CHAR_TAB = 9;
  const CHAR_LINE_FEED = 10;
  const CHAR_CARRIAGE_RETURN = 13;
  const CHAR_SPACE = 32;
  const CHAR_EXCLAMATION = 33;
  const CHAR_DOUBLE_QUOTE = 34;
  const CHAR_SHARP = 35;
  const CHAR_PERCENT = 37;
  const CHAR_AMPERSAND = 38;
  const CHAR_SINGLE_QUOTE = 39;
  const CHAR_ASTERISK = 42;
  const CHAR_COMMA = 44;
  const CHAR_MINUS = 45;
  const CHAR_COLON = 58;
  const CHAR_EQUALS = 61;
  const CHAR_GREATER_THAN = 62;
  const CHAR_QUESTION = 63;
  const CHAR_COMMERCIAL_AT = 64;
  const CHAR_LEFT_SQUARE_BRACKET = 91;
  const CHAR_RIGHT_SQUARE_BRACKET = 93;
  const CHAR_GRAVE_ACCENT = 96;
  const CHAR_LEFT_CURLY_BRACKET = 123;
  const CHAR_VERTICAL_LINE = 124;
  const CHAR_RIGHT_CURLY_BRACKET = 125;
  const ESCAPE_SEQUENCES = {};
  ESCAPE_SEQUENCES[0] = "\\0";
  ESCAPE_SEQUENCES[7] = "\\a";
  ESCAPE_SEQUENCES[8] = "\\b";
  ESCAPE_SEQUENCES[9] = "\\t";
  ESCAPE_SEQUENCES[10] = "\\n";
  ESCAPE_SEQUENCES[11] = "\\v";
  ESCAPE_SEQUENCES[12] = "\\f";
  ESCAPE_SEQUENCES[13] = "\\r";
  ESCAPE_SEQUENCES[27] = "\\e";
  ESCAPE_SEQUENCES[34] = '\\"';
  ESCAPE_SEQUENCES[92] = "\\\\";
  ESCAPE_SEQUENCES[133] = "\\N";
  ESCAPE_SEQUENCES[160] = "\\_";
  ESCAPE_SEQUENCES[8232] = "\\L";
  ESCAPE_SEQUENCES[8233] = "\\P";
  const DEPRECATED_BOOLEANS_SYNTAX = [
    "y",
    "Y",
    "yes",
    "Yes",
    "YES",
    "on",
    "On",
    "ON",
    "n",
    "N",
    "no",
    "No",
    "NO",
    "off",
    "Off",
    "OFF"
  ];
  const DEPRECATED_BASE60_SYNTAX = /^[-+]?[0-9_]+(?::[0-9_]+)+(?:\.[0-9_]*)?$/;
  function compileStyleMap(schema2, map2) {
    if (map2 === null) return {};
    const result = {};
    const keys = Object.keys(map2);
    for (let index = 0, length = keys.length; index < length; index += 1) {
      let tag = keys[index];
      let style = String(map2[tag]);
      if (tag.slice(0, 2) === "!!") {
        tag = "tag:yaml.org,2002:" + tag.slice(2);
      }
      const type2 = schema2.compiledTypeMap["fallback"][tag];
      if (type2 && _hasOwnProperty.call(type2.styleAliases, style)) {
        style = type2.styleAliases[style];
      }
      result[tag] = style;
    }
    return result;
  }
  function encodeHex(character) {
    let handle;
    let length;
    const string = character.toString(16).toUpperCase();
    if (character <= 255) {
      handle = "x";
      length = 2;
    } else if (character <= 65535) {
      handle = "u";
      length = 4;
    } else if (character <= 4294967295) {
      handle = "U";
      length = 8;
    } else {
      throw new YAMLException2("code point within a string may not be greater than 0xFFFFFFFF");
    }
    return "\\" + handle + common2.repeat("0", length - string.length) + string;
  }
  const QUOTING_TYPE_SINGLE = 1;
  const QUOTING_TYPE_DOUBLE = 2;
  function State(options) {
    this.schema = options["schema"] || DEFAULT_SCHEMA2;
    this.indent = Math.max(1, options["indent"] || 2);
    this.noArrayIndent = options["noArrayIndent"] || false;
    this.skipInvalid = options["skipInvalid"] || false;
    this.flowLevel = common2.isNothing(options["flowLevel"]) ? -1 : options["flowLevel"];
    this.styleMap = compileStyleMap(this.schema, options["styles"] || null);
    this.sortKeys = options["sortKeys"] || false;
    this.lineWidth = options["lineWidth"] || 80;
    this.noRefs = options["noRefs"] || false;
    this.noCompatMode = options["noCompatMode"] || false;
    this.condenseFlow = options["condenseFlow"] || false;
    this.quotingType = options["quotingType"] === '"' ? QUOTING_TYPE_DOUBLE : QUOTING_TYPE_SINGLE;
    this.forceQuotes = options["forceQuotes"] || false;
    this.replacer = typeof options["replacer"] === "function" ? options["replacer"] : null;
    this.implicitTypes = this.schema.compiledImplicit;
    this.explicitTypes = this.schema.compiledExplicit;
    this.tag = null;
    this.result = "";
    this.duplicates = [];
    this.usedDuplicates = null;
  }
  function indentString(string, spaces) {
    const ind = common2.repeat(" ", spaces);
    let position = 0;
    let result = "";
    const length = string.length;
    while (position < length) {
      let line;
      const next = string.indexOf("\n", position);
      if (next === -1) {
        line = string.slice(position);
        position = length;
      } else {
        line = string.slice(position, next + 1);
        position = next + 1;
      }
      if (line.length && line !== "\n") result += ind;
      result += line;
    }
    return result;
  }
  function generateNextLine(state, level) {
    return "\n" + common2.repeat(" ", state.indent * level);
  }
  function testImplicitResolving(state, str2) {
    for (let index = 0, length = state.implicitTypes.length; index < length; index += 1) {
      const type2 = state.implicitTypes[index];
      if (type2.resolve(str2)) {
        return true;
      }
    }
    return false;
  }
  function isWhitespace(c) {
    return c === CHAR_SPACE || c === CHAR_TAB;
  }
  function isPrintable(c) {
    return c >= 32 && c <= 126 || c >= 161 && c <= 55295 && c !== 8232 && c !== 8233 || c >= 57344 && c <= 65533 && c !== CHAR_BOM || c >= 65536 && c <= 1114111;
  }
  function isNsCharOrWhitespace(c) {
    return isPrintable(c) && c !== CHAR_BOM && // - b-char
    c !== CHAR_CARRIAGE_RETURN && c !== CHAR_LINE_FEED;
  }
  function isPlainSafe(c, prev, inblock) {
    const cIsNsCharOrWhitespace = isNsCharOrWhitespace(c);
    const cIsNsChar = cIsNsCharOrWhitespace && !isWhitespace(c);
    return (
      // ns-plain-safe
      (inblock ? cIsNsCharOrWhitespace : cIsNsCharOrWhitespace && // - c-flow-indicator
      c !== CHAR_COMMA && c !== CHAR_LEFT_SQUARE_BRACKET && c !== CHAR_RIGHT_SQUARE_BRACKET && c !== CHAR_LEFT_CURLY_BRACKET && c !== CHAR_RIGHT_CURLY_BRACKET) && // ns-plain-char
      c !== CHAR_SHARP && // false on '#'
      !(prev === CHAR_COLON && !cIsNsChar) || // false on ': '
      isNsCharOrWhitespace(prev) && !isWhitespace(prev) && c === CHAR_SHARP || // change to true on '[^ ]#'
      prev === CHAR_COLON && cIsNsChar
    );
  }
  function isPlainSafeFirst(c) {
    return isPrintable(c) && c !== CHAR_BOM && !isWhitespace(c) && // - s-white
    // - (c-indicator ::=
    // “-” | “?” | “:” | “,” | “[” | “]” | “{” | “}”
    c !== CHAR_MINUS && c !== CHAR_QUESTION && c !== CHAR_COLON && c !== CHAR_COMMA && c !== CHAR_LEFT_SQUARE_BRACKET && c !== CHAR_RIGHT_SQUARE_BRACKET && c !== CHAR_LEFT_CURLY_BRACKET && c !== CHAR_RIGHT_CURLY_BRACKET && // | “#” | “&” | “*” | “!” | “|” | “=” | “>” | “'” | “"”
    c !== CHAR_SHARP && c !== CHAR_AMPERSAND && c !== CHAR_ASTERISK && c !== CHAR_EXCLAMATION && c !== CHAR_VERTICAL_LINE && c !== CHAR_EQUALS && c !== CHAR_GREATER_THAN && c !== CHAR_SINGLE_QUOTE && c !== CHAR_DOUBLE_QUOTE && // | “%” | “@” | “`”)
    c !== CHAR_PERCENT && c !== CHAR_COMMERCIAL_AT && c !== CHAR_GRAVE_ACCENT;
  }
  function isPlainSafeLast(c) {
    return !isWhitespace(c) && c !== CHAR_COLON;
  }
  function codePointAt(string, pos) {
    const first = string.charCodeAt(pos);
    let second;
    if (first >= 55296 && first <= 56319 && pos + 1 < string.length) {
      second = string.charCodeAt(pos + 1);
      if (second >= 56320 && second <= 57343) {
        return (first - 55296) * 1024 + second - 56320 + 65536;
      }
    }
    return first;
  }
  function needIndentIndicator(string) {
    const leadingSpaceRe = /^\n* /;
    return leadingSpaceRe.test(string);
  }
  const STYLE_PLAIN = 1;
  const STYLE_SINGLE = 2;
  const STYLE_LITERAL = 3;
  const STYLE_FOLDED = 4;
  const STYLE_DOUBLE = 5;
  function chooseScalarStyle(string, singleLineOnly, indentPerLevel, lineWidth, testAmbiguousType, quotingType, forceQuotes, inblock) {
    let i;
    let char = 0;
    let prevChar = null;
    let hasLineBreak = false;
    let hasFoldableLine = false;
    const shouldTrackWidth = lineWidth !== -1;
    let previousLineBreak = -1;
    let plain = isPlainSafeFirst(codePointAt(string, 0)) && isPlainSafeLast(codePointAt(string, string.length - 1));
    if (singleLineOnly || forceQuotes) {
      for (i = 0; i < string.length; char >= 65536 ? i += 2 : i++) {
        char = codePointAt(string, i);
        if (!isPrintable(char)) {
          return STYLE_DOUBLE;
        }
        plain = plain && isPlainSafe(char, prevChar, inblock);
        prevChar = char;
      }
    } else {
      for (i = 0; i < string.length; char >= 65536 ? i += 2 : i++) {
        char = codePointAt(string, i);
        if (char === CHAR_LINE_FEED) {
          hasLineBreak = true;
          if (shouldTrackWidth) {
            hasFoldableLine = hasFoldableLine || // Foldable line = too long, and not more-indented.
            i - previousLineBreak - 1 > lineWidth && string[previousLineBreak + 1] !== " ";
            previousLineBreak = i;
          }
        } else if (!isPrintable(char)) {
          return STYLE_DOUBLE;
        }
        plain = plain && isPlainSafe(char, prevChar, inblock);
        prevChar = char;
      }
      hasFoldableLine = hasFoldableLine || shouldTrackWidth && (i - previousLineBreak - 1 > lineWidth && string[previousLineBreak + 1] !== " ");
    }
    if (!hasLineBreak && !hasFoldableLine) {
      if (plain && !forceQuotes && !testAmbiguousType(string)) {
        return STYLE_PLAIN;
      }
      return quotingType === QUOTING_TYPE_DOUBLE ? STYLE_DOUBLE : STYLE_SINGLE;
    }
    if (indentPerLevel > 9 && needIndentIndicator(string)) {
      return STYLE_DOUBLE;
    }
    if (!forceQuotes) {
      return hasFoldableLine ? STYLE_FOLDED : STYLE_LITERAL;
    }
    return quotingType === QUOTING_TYPE_DOUBLE ? STYLE_DOUBLE : STYLE_SINGLE;
  }
  function writeScalar(state, string, level, iskey, inblock) {
    state.dump = (function() {
      if (string.length === 0) {
        return state.quotingType === QUOTING_TYPE_DOUBLE ? '""' : "''";
      }
      if (!state.noCompatMode) {
        if (DEPRECATED_BOOLEANS_SYNTAX.indexOf(string) !== -1 || DEPRECATED_BASE60_SYNTAX.test(string)) {
          return state.quotingType === QUOTING_TYPE_DOUBLE ? '"' + string + '"' : "'" + string + "'";
        }
      }
      const indent = state.indent * Math.max(1, level);
      const lineWidth = state.lineWidth === -1 ? -1 : Math.max(Math.min(state.lineWidth, 40), state.lineWidth - indent);
      const singleLineOnly = iskey || // No block styles in flow mode.
      state.flowLevel > -1 && level >= state.flowLevel;
      function testAmbiguity(string2) {
        return testImplicitResolving(state, string2);
      }
      switch (chooseScalarStyle(
        string,
        singleLineOnly,
        state.indent,
        lineWidth,
        testAmbiguity,
        state.quotingType,
        state.forceQuotes && !iskey,
        inblock
      )) {
        case STYLE_PLAIN:
          return string;
        case STYLE_SINGLE:
          return "'" + string.replace(/'/g, "''") + "'";
        case STYLE_LITERAL:
          return "|" + blockHeader(string, state.indent) + dropEndingNewline(indentString(string, indent));
        case STYLE_FOLDED:
          return ">" + blockHeader(string, state.indent) + dropEndingNewline(indentString(foldString(string, lineWidth), indent));
        case STYLE_DOUBLE:
          return '"' + escapeString(string) + '"';
        default:
          throw new YAMLException2("impossible error: invalid scalar style");
      }
    })();
  }
  function blockHeader(string, indentPerLevel) {
    const indentIndicator = needIndentIndicator(string) ? String(indentPerLevel) : "";
    const clip = string[string.length - 1] === "\n";
    const keep = clip && (string[string.length - 2] === "\n" || string === "\n");
    const chomp = keep ? "+" : clip ? "" : "-";
    return indentIndicator + chomp + "\n";
  }
  function dropEndingNewline(string) {
    return string[string.length - 1] === "\n" ? string.slice(0, -1) : string;
  }
  function foldString(string, width) {
    const lineRe = /(\n+)([^\n]*)/g;
    let result = (function() {
      let nextLF = string.indexOf("\n");
      nextLF = nextLF !== -1 ? nextLF : string.length;
      lineRe.lastIndex = nextLF;
      return foldLine(string.slice(0, nextLF), width);
    })();
    let prevMoreIndented = string[0] === "\n" || string[0] === " ";
    let moreIndented;
    let match;
    while (match = lineRe.exec(string)) {
      const prefix = match[1];
      const line = match[2];
      moreIndented = line[0] === " ";
      result += prefix + (!prevMoreIndented && !moreIndented && line !== "" ? "\n" : "") + foldLine(line, width);
      prevMoreIndented = moreIndented;
    }
    return result;
  }
  function foldLine(line, width) {
    if (line === "" || line[0] === " ") return line;
    const breakRe = / [^ ]/g;
    let match;
    let start = 0;
    let end;
    let curr = 0;
    let next = 0;
    let result = "";
    while (match = breakRe.exec(line)) {
      next = match.index;
      if (next - start > width) {
        end = curr > start ? curr : next;
        result += "\n" + line.slice(start, end);
        start = end + 1;
      }
      curr = next;
    }
    result += "\n";
    if (line.length - start > width && curr > start) {
      result += line.slice(start, curr) + "\n" + line.slice(curr + 1);
    } else {
      result += line.slice(start);
    }
    return result.slice(1);
  }
  function escapeString(string) {
    let result = "";
    let char = 0;
    for (let i = 0; i < string.length; char >= 65536 ? i += 2 : i++) {
      char = codePointAt(string, i);
      const escapeSeq = ESCAPE_SEQUENCES[char];
      if (!escapeSeq && isPrintable(char)) {
        result += string[i];
        if (char >= 65536) result += string[i + 1];
      } else {
        result += escapeSeq || encodeHex(char);
      }
    }
    return result;
  }
  function writeFlowSequence(state, level, object) {
    let _result = "";
    const _tag = state.tag;
    for (let index = 0, length = object.length; index < length; index += 1) {
      let value = object[index];
      if (state.replacer) {
        value = state.replacer.call(object, String(index), value);
      }
      if (writeNode(state, level, value, false, false) || typeof value === "undefined" && writeNode(state, level, null, false, false)) {
        if (_result !== "") _result += "," + (!state.condenseFlow ? " " : "");
        _result += state.dump;
      }
    }
    state.tag = _tag;
    state.dump = "[" + _result + "]";
  }
  function writeBlockSequence(state, level, object, compact) {
    let _result = "";
    const _tag = state.tag;
    for (let index = 0, length = object.length; index < length; index += 1) {
      let value = object[index];
      if (state.replacer) {
        value = state.replacer.call(object, String(index), value);
      }
      if (writeNode(state, level + 1, value, true, true, false, true) || typeof value === "undefined" && writeNode(state, level + 1, null, true, true, false, true)) {
        if (!compact || _result !== "") {
          _result += generateNextLine(state, level);
        }
        if (state.dump && CHAR_LINE_FEED === state.dump.charCodeAt(0)) {
          _result += "-";
        } else {
          _result += "- ";
        }
        _result += state.dump;
      }
    }
    state.tag = _tag;
    state.dump = _result || "[]";
  }
  function writeFlowMapping(state, level, object) {
    let _result = "";
    const _tag = state.tag;
    const objectKeyList = Object.keys(object);
    for (let index = 0, length = objectKeyList.length; index < length; index += 1) {
      let pairBuffer = "";
      if (_result !== "") pairBuffer += ", ";
      if (state.condenseFlow) pairBuffer += '"';
      const objectKey = objectKeyList[index];
      let objectValue = object[objectKey];
      if (state.replacer) {
        objectValue = state.replacer.call(object, objectKey, objectValue);
      }
      if (!writeNode(state, level, objectKey, false, false)) {
        continue;
      }
      if (state.dump.length > 1024) pairBuffer += "? ";
      pairBuffer += state.dump + (state.condenseFlow ? '"' : "") + ":" + (state.condenseFlow ? "" : " ");
      if (!writeNode(state, level, objectValue, false, false)) {
        continue;
      }
      pairBuffer += state.dump;
      _result += pairBuffer;
    }
    state.tag = _tag;
    state.dump = "{" + _result + "}";
  }
  function writeBlockMapping(state, level, object, compact) {
    let _result = "";
    const _tag = state.tag;
    const objectKeyList = Object.keys(object);
    if (state.sortKeys === true) {
      objectKeyList.sort();
    } else if (typeof state.sortKeys === "function") {
      objectKeyList.sort(state.sortKeys);
    } else if (state.sortKeys) {
      throw new YAMLException2("sortKeys must be a boolean or a function");
    }
    for (let index = 0, length = objectKeyList.length; index < length; index += 1) {
      let pairBuffer = "";
      if (!compact || _result !== "") {
        pairBuffer += generateNextLine(state, level);
      }
      const objectKey = objectKeyList[index];
      let objectValue = object[objectKey];
      if (state.replacer) {
        objectValue = state.replacer.call(object, objectKey, objectValue);
      }
      if (!writeNode(state, level + 1, objectKey, true, true, true)) {
        continue;
      }
      const explicitPair = state.tag !== null && state.tag !== "?" || state.dump && state.dump.length > 1024;
      if (explicitPair) {
        if (state.dump && CHAR_LINE_FEED === state.dump.charCodeAt(0)) {
          pairBuffer += "?";
        } else {
          pairBuffer += "? ";
        }
      }
      pairBuffer += state.dump;
      if (explicitPair) {
        pairBuffer += generateNextLine(state, level);
      }
      if (!writeNode(state, level + 1, objectValue, true, explicitPair)) {
        continue;
      }
      if (state.dump && CHAR_LINE_FEED === state.dump.charCodeAt(0)) {
        pairBuffer += ":";
      } else {
        pairBuffer += ": ";
      }
      pairBuffer += state.dump;
      _result += pairBuffer;
    }
    state.tag = _tag;
    state.dump = _result || "{}";
  }
  function detectType(state, object, explicit) {
    const typeList = explicit ? state.explicitTypes : state.implicitTypes;
    for (let index = 0, length = typeList.length; index < length; index += 1) {
      const type2 = typeList[index];
      if ((type2.instanceOf || type2.predicate) && (!type2.instanceOf || typeof object === "object" && object instanceof type2.instanceOf) && (!type2.predicate || type2.predicate(object))) {
        if (explicit) {
          if (type2.multi && type2.representName) {
            state.tag = type2.representName(object);
          } else {
            state.tag = type2.tag;
          }
        } else {
          state.tag = "?";
        }
        if (type2.represent) {
          const style = state.styleMap[type2.tag] || type2.defaultStyle;
          let _result;
          if (_toString.call(type2.represent) === "[object Function]") {
            _result = type2.represent(object, style);
          } else if (_hasOwnProperty.call(type2.represent, style)) {
            _result = type2.represent[style](object, style);
          } else {
            throw new YAMLException2("!<" + type2.tag + '> tag resolver accepts not "' + style + '" style');
          }
          state.dump = _result;
        }
        return true;
      }
    }
    return false;
  }
  function writeNode(state, level, object, block, compact, iskey, isblockseq) {
    state.tag = null;
    state.dump = object;
    if (!detectType(state, object, false)) {
      detectType(state, object, true);
    }
    const type2 = _toString.call(state.dump);
    const inblock = block;
    if (block) {
      block = state.flowLevel < 0 || state.flowLevel > level;
    }
    const objectOrArray = type2 === "[object Object]" || type2 === "[object Array]";
    let duplicateIndex;
    let duplicate;
    if (objectOrArray) {
      duplicateIndex = state.duplicates.indexOf(object);
      duplicate = duplicateIndex !== -1;
    }
    if (state.tag !== null && state.tag !== "?" || duplicate || state.indent !== 2 && level > 0) {
      compact = false;
    }
    if (duplicate && state.usedDuplicates[duplicateIndex]) {
      state.dump = "*ref_" + duplicateIndex;
    } else {
      if (objectOrArray && duplicate && !state.usedDuplicates[duplicateIndex]) {
        state.usedDuplicates[duplicateIndex] = true;
      }
      if (type2 === "[object Object]") {
        if (block && Object.keys(state.dump).length !== 0) {
          writeBlockMapping(state, level, state.dump, compact);
          if (duplicate) {
            state.dump = "&ref_" + duplicateIndex + state.dump;
          }
        } else {
          writeFlowMapping(state, level, state.dump);
          if (duplicate) {
            state.dump = "&ref_" + duplicateIndex + " " + state.dump;
          }
        }
      } else if (type2 === "[object Array]") {
        if (block && state.dump.length !== 0) {
          if (state.noArrayIndent && !isblockseq && level > 0) {
            writeBlockSequence(state, level - 1, state.dump, compact);
          } else {
            writeBlockSequence(state, level, state.dump, compact);
          }
          if (duplicate) {
            state.dump = "&ref_" + duplicateIndex + state.dump;
          }
        } else {
          writeFlowSequence(state, level, state.dump);
          if (duplicate) {
            state.dump = "&ref_" + duplicateIndex + " " + state.dump;
          }
        }
      } else if (type2 === "[object String]") {
        if (state.tag !== "?") {
          writeScalar(state, state.dump, level, iskey, inblock);
        }
      } else if (type2 === "[object Undefined]") {
        return false;
      } else {
        if (state.skipInvalid) return false;
        throw new YAMLException2("unacceptable kind of an object to dump " + type2);
      }
      if (state.tag !== null && state.tag !== "?") {
        let tagStr = encodeURI(
          state.tag[0] === "!" ? state.tag.slice(1) : state.tag
        ).replace(/!/g, "%21");
        if (state.tag[0] === "!") {
          tagStr = "!" + tagStr;
        } else if (tagStr.slice(0, 18) === "tag:yaml.org,2002:") {
          tagStr = "!!" + tagStr.slice(18);
        } else {
          tagStr = "!<" + tagStr + ">";
        }
        state.dump = tagStr + " " + state.dump;
      }
    }
    return true;
  }
  function getDuplicateReferences(object, state) {
    const objects = [];
    const duplicatesIndexes = [];
    inspectNode(object, objects, duplicatesIndexes);
    const length = duplicatesIndexes.length;
    for (let index = 0; index < length; index += 1) {
      state.duplicates.push(objects[duplicatesIndexes[index]]);
    }
    state.usedDuplicates = new Array(length);
  }
  function inspectNode(object, objects, duplicatesIndexes) {
    if (object !== null && typeof object === "object") {
      const index = objects.indexOf(object);
      if (index !== -1) {
        if (duplicatesIndexes.indexOf(index) === -1) {
          duplicatesIndexes.push(index);
        }
      } else {
        objects.push(object);
        if (Array.isArray(object)) {
          for (let i = 0, length = object.length; i < length; i += 1) {
            inspectNode(object[i], objects, duplicatesIndexes);
          }
        } else {
          const objectKeyList = Object.keys(object);
          for (let i = 0, length = objectKeyList.length; i < length; i += 1) {
            inspectNode(object[objectKeyList[i]], objects, duplicatesIndexes);
          }
        }
      }
    }
  }
  function dump2(input, options) {
    options = options || {};
    const state = new State(options);
    if (!state.noRefs) getDuplicateReferences(input, state);
    let value = input;
    if (state.replacer) {
      value = state.replacer.call({ "": value }, "", value);
    }
    if (writeNode(state, 0, value, true, true)) return state.dump + "\n";
    return "";
  }
  dumper.dump = dump2;
  return dumper;
}
var hasRequiredJsYaml;
function requireJsYaml() {
  if (hasRequiredJsYaml) return jsYaml;
  hasRequiredJsYaml = 1;
  const loader2 = requireLoader();
  const dumper2 = requireDumper();
  function renamed(from, to) {
    return function() {
      throw new Error("Function yaml." + from + " is removed in js-yaml 4. Use yaml." + to + " instead, which is now safe by default.");
    };
  }
  jsYaml.Type = requireType();
  jsYaml.Schema = requireSchema();
  jsYaml.FAILSAFE_SCHEMA = requireFailsafe();
  jsYaml.JSON_SCHEMA = requireJson();
  jsYaml.CORE_SCHEMA = requireCore();
  jsYaml.DEFAULT_SCHEMA = require_default();
  jsYaml.load = loader2.load;
  jsYaml.loadAll = loader2.loadAll;
  jsYaml.dump = dumper2.dump;
  jsYaml.YAMLException = requireException();
  jsYaml.types = {
    binary: requireBinary(),
    float: requireFloat(),
    map: requireMap(),
    null: require_null(),
    pairs: requirePairs(),
    set: requireSet(),
    timestamp: requireTimestamp(),
    bool: requireBool(),
    int: requireInt(),
    merge: requireMerge(),
    omap: requireOmap(),
    seq: requireSeq(),
    str: requireStr()
  };
  jsYaml.safeLoad = renamed("safeLoad", "load");
  jsYaml.safeLoadAll = renamed("safeLoadAll", "loadAll");
  jsYaml.safeDump = renamed("safeDump", "dump");
  return jsYaml;
}
var jsYamlExports = requireJsYaml();
const yaml = /* @__PURE__ */ getDefaultExportFromCjs(jsYamlExports);
const {
  Type,
  Schema,
  FAILSAFE_SCHEMA,
  JSON_SCHEMA,
  CORE_SCHEMA,
  DEFAULT_SCHEMA,
  load,
  loadAll,
  dump,
  YAMLException,
  types,
  safeLoad,
  safeLoadAll,
  safeDump
} = yaml;

//# sourceMappingURL=js-yaml.mjs.map

;// CONCATENATED MODULE: external "node:child_process"
const external_node_child_process_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:child_process");
;// CONCATENATED MODULE: ./src/lib/process/run.ts
/**
 * The one way library code starts programs (kustomize, git, exec credential plugins): no shell,
 * arguments as an array, and every child bounded. Each runs in its own process group, so that a limit
 * kills what it started too (git's ssh and remote helpers, kustomize's plugins), and the group is
 * registered with the cleanup registry while it runs, so a run told to stop leaves no child behind.
 *
 * Memory is watched, not capped with `ulimit -v`/`prlimit --as`: Go programs (kubectl, kustomize) reserve
 * ~750 MiB of address space before they start (measured: kubectl 1.32 fails to start under 700 MiB of
 * virtual memory, and runs at 46 MiB RSS), so a virtual-memory cap either breaks them or caps nothing.
 * A watchdog sums the resident memory of the group from /proc every 100 ms instead (Linux; elsewhere
 * the time and output limits still hold).
 */



/** A child killed for passing a limit (or because the run is stopping). */
class ProcessLimitError extends Error {
    reason;
    stderr;
    constructor(message, reason, 
    /** What the child had written to stderr before it was killed (its tail). */
    stderr) {
        super(message);
        this.reason = reason;
        this.stderr = stderr;
        this.name = 'ProcessLimitError';
    }
}
const MiB = 1024 * 1024;
const DEFAULT_MAX_OUTPUT = 256 * MiB;
/** Of stderr, only the last part is kept: it is for messages. */
const MAX_STDERR = 64 * 1024;
/** After a kill, how long to wait for the pipes to close (a child in a group of its own may hold them). */
const KILL_GRACE_MS = 2000;
/**
 * The limit that killed a child, read from its error or from an error that wraps it (`cause`): git and
 * kustomize put the runner's error into their own, so every caller tells a limit the same way.
 */
function limitOf(error) {
    for (let e = error; e instanceof Error; e = e.cause) {
        if (e instanceof ProcessLimitError)
            return e.reason;
    }
    return undefined;
}
/** Every running child's kill, to stop them all at once (the agent's SIGTERM). */
const running = new Set();
/** Kills every child running now (each rejects as stopped). */
function stopChildren() {
    for (const stop of [...running])
        stop();
}
/**
 * Runs `command args…` within the limits; resolves with its exit code and output whatever the code.
 * Rejects when it cannot start, or with a `ProcessLimitError` when a limit killed it.
 */
function runProcess(command, args, options = {}) {
    const label = options.label ?? command.split('/').pop();
    const maxOutput = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    return new Promise((resolve, reject) => {
        if (options.signal?.aborted)
            return reject(limitError('stopped', label, options, ''));
        const child = (0,external_node_child_process_namespaceObject.spawn)(command, args, {
            cwd: options.cwd,
            env: options.env ?? process.env,
            stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
            // Its own process group: one kill reaches everything it starts.
            detached: true,
        });
        const out = [];
        let outBytes = 0;
        let err = '';
        let killed;
        let settled = false;
        const stops = [];
        const finish = (result) => {
            if (settled)
                return;
            settled = true;
            for (const stop of stops)
                stop();
            if (result instanceof Error)
                reject(result);
            else
                resolve(result);
        };
        const kill = (reason) => {
            if (killed || settled)
                return;
            killed = reason;
            try {
                process.kill(-child.pid, 'SIGKILL');
            }
            catch {
                child.kill('SIGKILL');
            }
            // Normally the pipes close at once; a grandchild that left the group may still hold them.
            const grace = setTimeout(() => {
                child.stdout?.destroy();
                child.stderr?.destroy();
                finish(limitError(reason, label, options, err));
            }, KILL_GRACE_MS);
            grace.unref();
        };
        child.on('error', (error) => finish(new Error(`${label}: cannot run ${command}: ${error.message}`)));
        if (child.pid === undefined)
            return; // 'error' follows
        // The child stopping early closes its stdin: its exit code says why, not the write's EPIPE.
        child.stdin?.on('error', () => undefined);
        child.stdin?.end(options.input);
        child.stdout.on('data', (d) => {
            if (killed)
                return;
            outBytes += d.length;
            if (outBytes > maxOutput)
                return kill('output');
            out.push(d);
        });
        child.stderr.on('data', (d) => {
            err = (err + d.toString('utf8')).slice(-MAX_STDERR);
        });
        // Limits, each undone when the child ends.
        const stop = () => kill('stopped');
        running.add(stop);
        stops.push(() => running.delete(stop));
        stops.push(registerCleanup(stop));
        if (options.signal) {
            options.signal.addEventListener('abort', stop, { once: true });
            stops.push(() => options.signal.removeEventListener('abort', stop));
        }
        if (options.timeoutMs) {
            const timer = setTimeout(() => kill('timeout'), options.timeoutMs);
            stops.push(() => clearTimeout(timer));
        }
        if (options.memoryLimitMB) {
            stops.push(watchMemory(child.pid, options.memoryLimitMB * MiB, () => kill('memory')));
        }
        child.on('close', (code, signal) => {
            if (killed)
                return finish(limitError(killed, label, options, err));
            finish({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr: err });
        });
    });
}
/** `runProcess` with stdout as UTF-8 text. */
async function run_runCommand(command, args, options = {}) {
    const r = await runProcess(command, args, options);
    return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
}
function limitError(reason, label, options, stderr) {
    const setting = (name) => (name ? ` (${name})` : '');
    const what = {
        timeout: `did not finish within ${seconds(options.timeoutMs ?? 0)} s${setting(options.timeoutSetting)}`,
        memory: `used more than ${options.memoryLimitMB} MiB of memory${setting(options.memorySetting)}`,
        output: `wrote more than ${formatMiB(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT)} of output`,
        stopped: 'was stopped (shutting down)',
    }[reason];
    return new ProcessLimitError(`${label} ${what}; killed`, reason, stderr);
}
function seconds(ms) {
    return String(Math.round(ms / 100) / 10);
}
function formatMiB(bytes) {
    return `${Math.round((bytes / MiB) * 10) / 10} MiB`;
}
// Memory watchdog: one scan of /proc per tick for every watched group.
const watched = new Map();
let ticker;
const TICK_MS = 100;
function watchMemory(pgid, limitBytes, exceeded) {
    if (process.platform !== 'linux')
        return () => undefined;
    watched.set(pgid, { limit: limitBytes, exceeded });
    ticker ??= setInterval(scan, TICK_MS).unref();
    return () => {
        watched.delete(pgid);
        if (watched.size === 0 && ticker) {
            clearInterval(ticker);
            ticker = undefined;
        }
    };
}
function scan() {
    const rss = new Map();
    let pids;
    try {
        pids = (0,external_node_fs_namespaceObject.readdirSync)('/proc').filter((name) => /^\d+$/.test(name));
    }
    catch {
        return;
    }
    for (const pid of pids) {
        const group = groupOf(pid);
        if (group === undefined || !watched.has(group))
            continue;
        rss.set(group, (rss.get(group) ?? 0) + residentBytes(pid));
    }
    for (const [group, bytes] of rss) {
        const watch = watched.get(group);
        if (watch && bytes > watch.limit)
            watch.exceeded();
    }
}
/** The process group of a process, from /proc/<pid>/stat (after the command name, which may hold spaces). */
function groupOf(pid) {
    try {
        const stat = (0,external_node_fs_namespaceObject.readFileSync)(`/proc/${pid}/stat`, 'latin1');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(fields[2]);
    }
    catch {
        return undefined; // gone meanwhile
    }
}
/** Resident memory in bytes (VmRSS, in kB in /proc/<pid>/status: no page size to guess). */
function residentBytes(pid) {
    try {
        const m = /^VmRSS:\s+(\d+) kB/m.exec((0,external_node_fs_namespaceObject.readFileSync)(`/proc/${pid}/status`, 'latin1'));
        return m ? Number(m[1]) * 1024 : 0;
    }
    catch {
        return 0;
    }
}

;// CONCATENATED MODULE: ./src/lib/kube/exec-credential.ts
/**
 * Exec credential plugins (`aws eks get-token`, `gke-gcloud-auth-plugin`, `kubelogin`, a
 * `client.authentication.k8s.io` ExecCredential on stdout): a bearer token, a client certificate and key,
 * or both, kept until they expire or the server refuses them.
 */



/**
 * The credentials a user's exec plugin hands out. As kubectl does, a command with a path in it is
 * relative to the folder of the kubeconfig that names it (`base`); a bare name is looked up on PATH.
 */
function execCredentials(exec, user, base) {
    if (typeof exec.command !== 'string' || !exec.command)
        throw new errors_ConfigurationError(`the kubeconfig user ${user} has an exec plugin with no command`);
    const command = exec.command.includes(external_node_path_namespaceObject.sep) ? (0,external_node_path_namespaceObject.resolve)(base, exec.command) : exec.command;
    const label = `the exec credential plugin ${command}`;
    let cached;
    const run = async () => {
        // The process runner: no shell, a time limit, and its process group killed with it.
        const r = await runProcess(command, exec.args ?? [], {
            env: {
                ...process.env,
                ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])),
                KUBERNETES_EXEC_INFO: JSON.stringify({
                    apiVersion: exec.apiVersion,
                    kind: 'ExecCredential',
                    spec: { interactive: false },
                }),
            },
            timeoutMs: 60_000,
            maxOutputBytes: 1024 * 1024,
            label,
        });
        if (r.code !== 0)
            throw new Error(`${label} failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
        let out;
        try {
            out = JSON.parse(r.stdout.toString('utf8'));
        }
        catch {
            throw new Error(`${label} printed no ExecCredential (not JSON)`);
        }
        return out.status ?? {};
    };
    const fetch = async () => {
        const status = await run();
        const cert = status.clientCertificateData;
        const key = status.clientKeyData;
        if (!status.token && !cert)
            throw new Error(`${label} returned neither a token nor a client certificate`);
        if (!cert !== !key)
            throw new Error(`${label} returned a client certificate without its key, or a key alone`);
        const credentials = {
            authorization: status.token ? `Bearer ${status.token}` : undefined,
            cert,
            key,
        };
        const expires = status.expirationTimestamp
            ? Date.parse(status.expirationTimestamp) - 30_000
            : Number.POSITIVE_INFINITY;
        cached = { credentials, expires };
        return credentials;
    };
    // One run at a time: concurrent requests share the plugin's answer.
    let running;
    return {
        credentials: () => {
            if (cached && Date.now() < cached.expires)
                return Promise.resolve(cached.credentials);
            running ??= fetch().finally(() => (running = undefined));
            return running;
        },
        refresh: () => (cached = undefined),
    };
}

// EXTERNAL MODULE: external "node:http"
var external_node_http_ = __nccwpck_require__(7067);
;// CONCATENATED MODULE: external "node:https"
const external_node_https_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:https");
// EXTERNAL MODULE: external "node:tls"
var external_node_tls_ = __nccwpck_require__(1692);
;// CONCATENATED MODULE: ./src/lib/kube/proxy.ts
/**
 * The kubeconfig's `proxy-url` for http(s) proxies: each connection to the API server is a CONNECT tunnel
 * through the proxy, with TLS to the API server inside it, end to end, as kubectl does (a plain-http API
 * server is tunnelled too). SOCKS proxies are refused where the kubeconfig is read. The proxy's user name
 * and password go only into its `Proxy-Authorization` header, never into a message.
 */



/** The proxy's URL for messages: scheme, host and port, without credentials. */
function displayProxy(proxy) {
    return `${proxy.protocol}//${proxy.host}`;
}
/** A socket tunnelled to `host:port` through the proxy (its answer to CONNECT must be 200). */
function openTunnel(proxy, host, port, timeoutMs) {
    const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const headers = { Host: target };
    if (proxy.username || proxy.password) {
        const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
        headers['Proxy-Authorization'] = `Basic ${Buffer.from(user).toString('base64')}`;
    }
    const secure = proxy.protocol === 'https:';
    const name = displayProxy(proxy);
    return new Promise((resolve, reject) => {
        const req = (secure ? external_node_https_namespaceObject.request : external_node_http_.request)({
            hostname: proxy.hostname.replace(/^\[(.*)\]$/, '$1'),
            port: proxy.port || (secure ? 443 : 80),
            method: 'CONNECT',
            path: target,
            headers,
            agent: false,
            timeout: timeoutMs,
        });
        req.on('connect', (res, socket, head) => {
            if (res.statusCode !== 200) {
                socket.destroy();
                reject(new Error(`the proxy ${name} refused a tunnel to ${target}: ${res.statusCode} ${res.statusMessage ?? ''}`.trimEnd()));
                return;
            }
            // The tunnel is the API request's socket now: its own timeout applies from here.
            socket.setTimeout(0);
            if (head.length > 0)
                socket.unshift(head);
            resolve(socket);
        });
        req.on('timeout', () => req.destroy(new Error(`no tunnel from the proxy ${name} within ${timeoutMs / 1000} s`)));
        req.on('error', (error) => reject(error.message.includes(name) ? error : new Error(`the proxy ${name}: ${error.message}`)));
        req.end();
    });
}
/**
 * A kept-alive agent whose connections are tunnels through the proxy (`secure`: TLS inside them, with
 * the agent's TLS options). Node's agents take a connection from a callback, so pooling is unchanged.
 */
function tunnelAgent(proxy, secure, options, timeoutMs) {
    const tunnel = (o) => openTunnel(proxy, o.hostname ?? o.host ?? 'localhost', Number(o.port), timeoutMs);
    if (!secure)
        return new (class extends external_node_http_.Agent {
            createConnection(o, done) {
                tunnel(o).then((socket) => done(null, socket), done);
            }
        })(options);
    return new (class extends external_node_https_namespaceObject.Agent {
        createConnection(o, done) {
            tunnel(o).then((socket) => done(null, (0,external_node_tls_.connect)({ ...o, socket })), done);
        }
    })(options);
}

;// CONCATENATED MODULE: ./src/lib/kube/kubeconfig.ts
/**
 * Where the API server is and how to prove who we are: a kubeconfig file (`--kubeconfig`, `KUBECONFIG`,
 * `~/.kube/config`) or the pod's service account. Covers what clusters hand out: bearer tokens (also from
 * a file that rotates), client certificates, basic auth, exec plugins (tokens or client certificates:
 * `exec-credential.ts`) and http(s) proxies (`proxy-url`). Legacy `auth-provider` entries are refused with
 * what to use instead. `HTTPS_PROXY` and `NO_PROXY` in the environment are not read: only `proxy-url`.
 */







const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
const kubeconfig_str = (value) => (typeof value === 'string' ? value : undefined);
/** Loads the connection: the given file, else the usual places, else the pod's service account. */
function loadConnection(file, env = process.env) {
    if (file)
        return fromKubeconfig([file]);
    const fromEnv = (env.KUBECONFIG ?? '').split(external_node_path_namespaceObject.delimiter).filter(Boolean);
    if (fromEnv.length > 0)
        return fromKubeconfig(fromEnv.filter((f) => (0,external_node_fs_namespaceObject.existsSync)(f)));
    const home = (0,external_node_path_namespaceObject.join)((0,external_node_os_namespaceObject.homedir)(), '.kube', 'config');
    if ((0,external_node_fs_namespaceObject.existsSync)(home))
        return fromKubeconfig([home]);
    if (env.KUBERNETES_SERVICE_HOST && (0,external_node_fs_namespaceObject.existsSync)((0,external_node_path_namespaceObject.join)(SERVICE_ACCOUNT, 'token')))
        return inCluster(env);
    throw new errors_ConfigurationError('no Kubernetes cluster is configured: give --kubeconfig, set KUBECONFIG, or run in a pod with a service account');
}
function inCluster(env) {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT ?? '443';
    return {
        server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
        ca: (0,external_node_fs_namespaceObject.readFileSync)((0,external_node_path_namespaceObject.join)(SERVICE_ACCOUNT, 'ca.crt')),
        insecure: false,
        ...tokenFile((0,external_node_path_namespaceObject.join)(SERVICE_ACCOUNT, 'token')),
    };
}
/** A token read from a file, read again each minute: bound service account tokens rotate. */
function tokenFile(path) {
    let cached;
    return {
        credentials: () => {
            if (!cached || Date.now() - cached.at > 60_000)
                cached = { token: (0,external_node_fs_namespaceObject.readFileSync)(path, 'utf8').trim(), at: Date.now() };
            return Promise.resolve({ authorization: `Bearer ${cached.token}` });
        },
        refresh: () => (cached = undefined),
    };
}
function fromKubeconfig(files) {
    if (files.length === 0)
        throw new errors_ConfigurationError('KUBECONFIG names no file that exists');
    // As kubectl merges KUBECONFIG: the first file to set a value wins.
    const merged = {
        clusters: [],
        users: [],
        contexts: [],
    };
    const baseOf = new Map();
    for (const file of files) {
        let raw;
        try {
            raw = load((0,external_node_fs_namespaceObject.readFileSync)(file, 'utf8')) ?? {};
        }
        catch (error) {
            throw new errors_ConfigurationError(`cannot read the kubeconfig ${file}: ${errorMessage(error)}`);
        }
        merged['current-context'] ??= raw['current-context'];
        for (const key of ['clusters', 'users', 'contexts']) {
            for (const entry of raw[key] ?? []) {
                if (merged[key].some((e) => e.name === entry.name))
                    continue;
                merged[key].push(entry);
                baseOf.set(entry, (0,external_node_path_namespaceObject.dirname)(file));
            }
        }
    }
    const where = files.join(external_node_path_namespaceObject.delimiter);
    const contextName = merged['current-context'];
    const context = merged.contexts.find((c) => c.name === contextName)?.context;
    if (!context)
        throw new errors_ConfigurationError(`the kubeconfig ${where} has no current context`);
    const clusterEntry = merged.clusters.find((c) => c.name === context.cluster);
    const cluster = clusterEntry?.cluster;
    const server = kubeconfig_str(cluster?.server);
    if (!cluster || !server)
        throw new errors_ConfigurationError(`the kubeconfig ${where} has no server for context ${contextName}`);
    const userEntry = merged.users.find((u) => u.name === context.user);
    const user = userEntry?.user ?? {};
    // Paths in a kubeconfig are relative to the file that holds them.
    const readPath = (entry, value) => {
        if (typeof value !== 'string')
            return undefined;
        const base = baseOf.get(entry) ?? '.';
        return (0,external_node_fs_namespaceObject.readFileSync)((0,external_node_path_namespaceObject.isAbsolute)(value) ? value : (0,external_node_path_namespaceObject.join)(base, value));
    };
    const data = (value) => typeof value === 'string' ? Buffer.from(value, 'base64') : undefined;
    if (user['auth-provider']) {
        throw new errors_ConfigurationError(`the kubeconfig user ${context.user} uses an auth-provider, which kubectl itself no longer supports: use an exec credential plugin (e.g. gke-gcloud-auth-plugin, kubelogin)`);
    }
    let credentials;
    if (typeof user.token === 'string') {
        credentials = fixed(`Bearer ${user.token}`);
    }
    else if (typeof user.tokenFile === 'string') {
        const base = baseOf.get(userEntry) ?? '.';
        credentials = tokenFile((0,external_node_path_namespaceObject.isAbsolute)(user.tokenFile) ? user.tokenFile : (0,external_node_path_namespaceObject.join)(base, user.tokenFile));
    }
    else if (typeof user.username === 'string') {
        credentials = fixed(`Basic ${Buffer.from(`${user.username}:${kubeconfig_str(user.password) ?? ''}`).toString('base64')}`);
    }
    else if (user.exec) {
        credentials = execCredentials(user.exec, String(context.user), baseOf.get(userEntry) ?? '.');
    }
    else {
        credentials = fixed(undefined);
    }
    return {
        server: server.replace(/\/+$/, ''),
        ca: data(cluster['certificate-authority-data']) ??
            readPath(clusterEntry, cluster['certificate-authority']),
        insecure: cluster['insecure-skip-tls-verify'] === true,
        serverName: typeof cluster['tls-server-name'] === 'string' ? cluster['tls-server-name'] : undefined,
        cert: data(user['client-certificate-data']) ?? readPath(userEntry, user['client-certificate']),
        key: data(user['client-key-data']) ?? readPath(userEntry, user['client-key']),
        proxy: proxyUrl(cluster['proxy-url'], String(context.cluster)),
        credentials: () => credentials.credentials(),
        refresh: () => credentials.refresh(),
    };
}
/** Credentials that never change. */
function fixed(authorization) {
    const credentials = Promise.resolve({ authorization });
    return { credentials: () => credentials, refresh: () => undefined };
}
/** A cluster's `proxy-url`: http(s) proxies; SOCKS ones are refused. Messages leave out credentials. */
function proxyUrl(value, cluster) {
    if (value === undefined || value === '')
        return undefined;
    let url;
    try {
        url = typeof value === 'string' ? new URL(value) : undefined;
    }
    catch {
        url = undefined;
    }
    if (!url)
        throw new errors_ConfigurationError(`the kubeconfig cluster ${cluster} has a proxy-url that is not a URL`);
    const shown = displayProxy(url);
    if (url.protocol.startsWith('socks'))
        throw new errors_ConfigurationError(`the kubeconfig cluster ${cluster} sets proxy-url ${shown}, a SOCKS proxy, which is not supported: use an http or https proxy`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new errors_ConfigurationError(`the kubeconfig cluster ${cluster} sets proxy-url ${shown}: only http and https proxies are supported`);
    return url;
}

;// CONCATENATED MODULE: ./src/lib/concurrency.ts
/** Runs `fn` over `items` with at most `limit` at a time; results in input order. */
async function mapLimit(items, limit, fn) {
    const results = new Array(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            results[i] = await fn(items[i], i);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return results;
}
/** Waits `ms` milliseconds, or less if `signal` aborts. */
function concurrency_sleep(ms, signal) {
    return new Promise((resolve) => {
        if (signal?.aborted)
            return resolve();
        const abort = () => {
            clearTimeout(timer);
            resolve();
        };
        // The listener goes with the sleep: a running agent sleeps on one signal for as long as it runs.
        const timer = setTimeout(() => {
            signal?.removeEventListener('abort', abort);
            resolve();
        }, ms);
        signal?.addEventListener('abort', abort, { once: true });
    });
}
/** At most `limit` tasks at a time, shared by every caller: one budget of requests for all units. */
class Limiter {
    limit;
    active = 0;
    waiting = [];
    constructor(limit) {
        this.limit = limit;
    }
    async run(task) {
        if (this.active < this.limit)
            this.active++;
        else
            await new Promise((resolve) => this.waiting.push(resolve));
        try {
            return await task();
        }
        finally {
            // The slot passes straight to the next task waiting, if any.
            const next = this.waiting.shift();
            if (next)
                next();
            else
                this.active--;
        }
    }
}

;// CONCATENATED MODULE: ./src/lib/kube/transport.ts
/**
 * How `KubeClient` talks to the API server: HTTPS (or plain HTTP) on one pool of kept-alive connections,
 * TLS from the kubeconfig, a time limit per request, an http(s) proxy when the kubeconfig names one, and
 * the retries that are safe: a fresh credential after a 401, waiting out a 429, and a request lost on a
 * connection the server had closed.
 */






const APPLY_PATCH = 'application/apply-patch+yaml';
/**
 * Whether a request lost with a stale connection may be sent again: a read; a server-side apply (the same
 * object again, the same result); a delete (bound to the object's uid where it matters, and a second one
 * of what the first deleted answers 404, read as gone). Not a create or an update, whose second try would
 * fail on the first one's success.
 */
function resendable(method, contentType) {
    return (method === 'GET' || method === 'DELETE' || (method === 'PATCH' && contentType === APPLY_PATCH));
}
/** A request that failed, before any answer, on a reused kept-alive connection the server had closed. */
class StaleConnection extends Error {
}
/** A request that got no answer within the request timeout (the message says how long). */
class Unanswered extends Error {
}
class Transport {
    connection;
    options;
    /** The server's URL in parts, read once: every request is built from them. */
    endpoint;
    agent;
    /** The client certificate an exec plugin gave, which the agent presents. */
    agentCert;
    constructor(connection, options) {
        this.connection = connection;
        this.options = options;
        let url;
        try {
            url = new URL(connection.server);
        }
        catch {
            throw new errors_ConfigurationError(`the kubeconfig's server ${connection.server} is not a URL (https://host:port)`);
        }
        this.endpoint = {
            protocol: url.protocol,
            // An IPv6 address goes to the socket without its brackets.
            hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
            port: url.port,
            path: url.pathname.replace(/\/+$/, ''),
        };
        this.agent = this.newAgent(connection.cert, connection.key);
    }
    /** The server's URL, for messages. */
    get server() {
        return this.connection.server;
    }
    newAgent(cert, key) {
        const { connection } = this;
        const plain = this.endpoint.protocol === 'http:';
        const options = {
            keepAlive: true,
            maxSockets: this.options.maxSockets,
            ...(plain
                ? {}
                : {
                    ca: connection.ca,
                    cert,
                    key,
                    rejectUnauthorized: !connection.insecure,
                    servername: connection.serverName,
                }),
        };
        if (connection.proxy)
            return tunnelAgent(connection.proxy, !plain, options, this.options.requestTimeoutMs);
        return plain ? new external_node_http_.Agent(options) : new external_node_https_namespaceObject.Agent(options);
    }
    /**
     * The agent for these credentials. A new client certificate from an exec plugin gets a new pool: the
     * old pool's connections proved the old identity; each closes when its request is done.
     */
    agentFor(credentials) {
        if (credentials.cert === undefined || credentials.cert === this.agentCert)
            return this.agent;
        const old = this.agent;
        old.maxFreeSockets = 0;
        for (const sockets of Object.values(old.freeSockets))
            for (const socket of sockets ?? [])
                socket.destroy();
        this.agentCert = credentials.cert;
        this.agent = this.newAgent(credentials.cert, credentials.key);
        return this.agent;
    }
    /** Closes kept-alive connections (the process can then exit at once). */
    close() {
        this.agent.destroy();
    }
    /**
     * One request; JSON in and out. A 401 gets one retry with a fresh credential (a rotated token), a 429
     * a few after waiting, and a request lost with a stale kept-alive connection goes out again until it
     * meets a live one, when sending it twice is harmless.
     */
    async call(what, method, path, body, contentType = 'application/json') {
        let refreshed = false;
        let resent = 0;
        for (let waited = 0;;) {
            let credentials;
            try {
                credentials = await this.connection.credentials();
            }
            catch (error) {
                const message = error instanceof Error ? error.message : String(error);
                throw new errors_KubeError(`${what}: no credentials for ${this.server}: ${message}`, 0, undefined, { cause: error });
            }
            let response;
            try {
                const agent = this.agentFor(credentials);
                response = await this.send(method, path, body, contentType, credentials, agent);
            }
            catch (error) {
                // The server closed its kept-alive connections (it restarted, or a load balancer timed them
                // out) and this request went out on one: sent again while that is so, if sending it twice is
                // harmless. The pool may hold several such connections; a new one never fails this way, so this
                // ends by itself (the bound is a guard).
                if (error instanceof StaleConnection &&
                    resendable(method, contentType) &&
                    resent++ <= this.options.maxSockets)
                    continue;
                if (error instanceof Unanswered)
                    throw new errors_KubeError(`${what}: no answer from the API server at ${this.server} within ${error.message}`, 0, 'Timeout');
                const message = error instanceof Error ? error.message : String(error);
                throw new errors_KubeError(`${what}: cannot reach the API server at ${this.server}: ${message}`, 0);
            }
            if (response.status === 401 && !refreshed) {
                refreshed = true;
                this.connection.refresh();
                continue;
            }
            // Too many requests (API priority and fairness): wait as told, a few times, as client-go does.
            if (response.status === 429 && waited < 3) {
                waited++;
                await concurrency_sleep(Math.min(10, Number(response.retryAfter) || 1) * 1000);
                continue;
            }
            return response;
        }
    }
    async send(method, path, body, contentType, { authorization }, agent) {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const server = this.endpoint;
        const send = server.protocol === 'http:' ? external_node_http_.request : external_node_https_namespaceObject.request;
        const timeoutMs = this.options.requestTimeoutMs;
        return new Promise((resolve, reject) => {
            let answered = false;
            const req = send({
                protocol: server.protocol,
                hostname: server.hostname,
                port: server.port,
                // Appended, not resolved: a server URL may carry a path (a proxy's `/k8s/clusters/<id>`).
                path: server.path + path,
                method,
                agent,
                headers: {
                    Accept: 'application/json',
                    'User-Agent': 'gitops-agent',
                    ...(authorization ? { Authorization: authorization } : {}),
                    ...(payload !== undefined
                        ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }
                        : {}),
                },
                timeout: timeoutMs,
            }, (res) => {
                answered = true;
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('end', () => resolve({
                    status: res.statusCode ?? 0,
                    text: Buffer.concat(chunks).toString('utf8'),
                    retryAfter: res.headers['retry-after'],
                }));
                res.on('error', reject);
            });
            // No Nagle delay: a request's headers and body would otherwise wait for the server's ACK
            // (set here: an https Agent does not pass `noDelay` on to its TLS sockets).
            req.on('socket', (socket) => socket.setNoDelay(true));
            req.on('timeout', () => req.destroy(new Unanswered(`${timeoutMs / 1000} s`)));
            // Reset or closed for writing on a reused connection before any answer: the server had closed it.
            req.on('error', (error) => reject(req.reusedSocket && !answered && (error.code === 'ECONNRESET' || error.code === 'EPIPE')
                ? new StaleConnection(error.message)
                : error));
            req.end(payload);
        });
    }
}

;// CONCATENATED MODULE: ./src/lib/kube/client.ts
/**
 * The one Kubernetes client module: every API call of the agent goes through `KubeClient`, with discovery
 * cached per apiVersion (`transport.ts` sends the requests). Errors come back as `KubeError`s that say
 * what was being done, the status code and the server's own message.
 *
 * Why not @kubernetes/client-node: a process using it holds 64-74 MB more memory (its generated models)
 * and its bundle is 16 MB; the agent needs a dozen REST calls, and a small pod (docs/decisions.md).
 */





/** `/api/v1[/namespaces/NS]/plural` or `/apis/group/version[/namespaces/NS]/plural`. */
function collectionPath(apiVersion, r, namespace) {
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return `${base}${ns}/${r.name}`;
}
class KubeClient {
    transport;
    /** Discovery per apiVersion: the resources it serves. */
    discovery = new Map();
    constructor(transport) {
        this.transport = transport;
    }
    /** The server's URL, for messages. */
    get server() {
        return this.transport.server;
    }
    /** From a kubeconfig file, else `KUBECONFIG`, `~/.kube/config` or the in-cluster service account. */
    static load(kubeconfig, { maxSockets = 32, requestTimeoutMs = 60_000, } = {}) {
        return new KubeClient(new Transport(loadConnection(kubeconfig), { maxSockets, requestTimeoutMs }));
    }
    /** Closes kept-alive connections (the process can then exit at once). */
    close() {
        this.transport.close();
    }
    /** The parsed body of a 2xx answer; a `KubeError` with the server's Status message otherwise. */
    parse(what, response) {
        let json;
        try {
            json = response.text ? JSON.parse(response.text) : undefined;
        }
        catch {
            json = undefined;
        }
        if (response.status >= 200 && response.status < 300)
            return json;
        const status = (json ?? {});
        const message = status.message ?? (response.text.slice(0, 300) || `HTTP ${response.status}`);
        throw new errors_KubeError(`${what}: ${message} (${response.status}${status.reason ? ` ${status.reason}` : ''})`, response.status, status.reason);
    }
    resources(apiVersion) {
        let found = this.discovery.get(apiVersion);
        if (!found) {
            const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
            const what = `discover ${apiVersion}`;
            found = this.transport.call(what, 'GET', path).then((response) => {
                if (response.status === 404)
                    return [];
                return this.parse(what, response).resources ?? [];
            });
            // A failed discovery is asked again next time.
            const mine = found;
            found.catch(() => {
                if (this.discovery.get(apiVersion) === mine)
                    this.discovery.delete(apiVersion);
            });
            this.discovery.set(apiVersion, found);
        }
        return found;
    }
    async resource(apiVersion, kind) {
        const find = async () => (await this.resources(apiVersion)).find((r) => r.kind === kind && !r.name.includes('/'));
        let found = await find();
        if (!found) {
            // A kind new since discovery was read (a CRD just applied): ask once more.
            this.discovery.delete(apiVersion);
            found = await find();
        }
        if (!found) {
            const served = (await this.resources(apiVersion)).length > 0;
            throw new errors_KubeError(served
                ? `discover ${kind} in ${apiVersion}: the server does not serve ${kind} in ${apiVersion} (is its CRD installed?)`
                : `discover ${kind} in ${apiVersion}: the server does not serve ${apiVersion} (a removed or not yet installed API?)`, 404, 'NotFound');
        }
        return found;
    }
    /** Whether a kind is namespaced, asking discovery again once when the kind is new (a CRD just applied). */
    async isNamespaced(apiVersion, kind) {
        return (await this.resource(apiVersion, kind)).namespaced;
    }
    /** The collection's path (in `namespace`, or across all for a namespaced kind without one). */
    async collection(apiVersion, kind, namespace) {
        return collectionPath(apiVersion, await this.resource(apiVersion, kind), namespace);
    }
    async objectPath(ref) {
        const r = await this.resource(ref.apiVersion, ref.kind);
        if (r.namespaced && !ref.namespace)
            throw new errors_KubeError(`${identity_describeRef(ref)}: a namespaced object needs a namespace`, 422, 'Invalid');
        // The resource found once serves both the check and the path: this runs for every object applied.
        return `${collectionPath(ref.apiVersion, r, ref.namespace)}/${encodeURIComponent(ref.name)}`;
    }
    /** Server-side apply; the object as the server now has it. */
    async apply(object, options) {
        const what = `apply ${identity_describeRef(identity_refOf(object))}`;
        return this.parse(what, await this.applyCall(what, object, options));
    }
    /** Server-side apply, when the answer is not needed: it is read only for an error. */
    async applyOnly(object, options) {
        const what = `apply ${identity_describeRef(identity_refOf(object))}`;
        const response = await this.applyCall(what, object, options);
        // A large object's answer is not parsed just to be dropped: thousands are applied in a sync.
        if (response.status < 200 || response.status >= 300)
            this.parse(what, response);
    }
    async applyCall(what, object, options) {
        const query = new URLSearchParams({ fieldManager: options.fieldManager });
        if (options.force)
            query.set('force', 'true');
        if (options.dryRun)
            query.set('dryRun', 'All');
        const path = `${await this.objectPath(identity_refOf(object))}?${query}`;
        return this.transport.call(what, 'PATCH', path, object, APPLY_PATCH);
    }
    /** The live object, or undefined when it does not exist. */
    async get(ref) {
        const what = `read ${identity_describeRef(ref)}`;
        const response = await this.transport.call(what, 'GET', await this.objectPath(ref));
        if (response.status === 404)
            return undefined;
        return this.parse(what, response);
    }
    async create(object) {
        const what = `create ${identity_describeRef(identity_refOf(object))}`;
        const ref = identity_refOf(object);
        const path = await this.collection(ref.apiVersion, ref.kind, ref.namespace);
        return this.parse(what, await this.transport.call(what, 'POST', path, object));
    }
    /** Replaces an object; fails with 409 when its `resourceVersion` is stale. */
    async replace(object) {
        const what = `update ${identity_describeRef(identity_refOf(object))}`;
        const path = await this.objectPath(identity_refOf(object));
        return this.parse(what, await this.transport.call(what, 'PUT', path, object));
    }
    /**
     * Deletes an object (dependents in the background); false when it was already gone. With `uid`, only
     * that very object: one deleted and created again since it was read fails with 409.
     */
    async delete(ref, uid) {
        const what = `delete ${identity_describeRef(ref)}`;
        const response = await this.transport.call(what, 'DELETE', await this.objectPath(ref), {
            kind: 'DeleteOptions',
            apiVersion: 'v1',
            propagationPolicy: 'Background',
            ...(uid ? { preconditions: { uid } } : {}),
        });
        if (response.status === 404)
            return false;
        this.parse(what, response);
        return true;
    }
    /** Objects of a kind, in one namespace or all, matching a label selector. */
    async list(apiVersion, kind, options = {}) {
        const what = `list ${kind}`;
        const path = await this.collection(apiVersion, kind, options.namespace);
        const items = [];
        let next;
        do {
            // Pages of 500, as kubectl reads: a large list never has to fit in one answer.
            const query = new URLSearchParams({ limit: '500' });
            if (options.labelSelector)
                query.set('labelSelector', options.labelSelector);
            if (next)
                query.set('continue', next);
            const page = this.parse(what, await this.transport.call(what, 'GET', `${path}?${query}`));
            // A list's items carry no kind or apiVersion: give them theirs.
            for (const item of page.items ?? [])
                items.push({ ...item, apiVersion, kind });
            next = page.metadata?.continue || undefined;
        } while (next);
        return items;
    }
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __nccwpck_require__(7598);
;// CONCATENATED MODULE: ./src/lib/kube/labels.ts
/** The labels and annotations the agent puts on what it applies, and reads back before pruning. */

const labels_DOMAIN = 'gitops-actions.dev';
/** Which agent applied the object (its namespace). */
const labels_AGENT_LABEL = `${labels_DOMAIN}/agent`;
/** Which unit declared the object: a hash of the unit's path (label values cannot hold `/`). */
const labels_UNIT_LABEL = (/* unused pure expression or super */ null && (`${labels_DOMAIN}/unit`));
/** The unit's path itself, for people. */
const labels_UNIT_ANNOTATION = (/* unused pure expression or super */ null && (`${labels_DOMAIN}/unit-path`));
/** `disabled`: never prune this object. `allow`: a Namespace, CRD or PVC that may be pruned. */
const labels_PRUNE_ANNOTATION = (/* unused pure expression or super */ null && (`${labels_DOMAIN}/prune`));
const labels_FIELD_MANAGER = 'gitops-agent';
/** A short, stable hash of a unit path: `staging/my-app` and `staging-my/app` never collide. */
function labels_unitHash(unitPath) {
    return createHash('sha256').update(unitPath).digest('hex').slice(0, 16);
}
/** Kinds never pruned unless annotated `prune: allow`: losing them loses data or other apps. */
const labels_PROTECTED_KINDS = new Set([
    'Namespace',
    'CustomResourceDefinition',
    'PersistentVolumeClaim',
    'PersistentVolume',
]);
/** The field manager of install-agent's server-side applies (the agent's own is `FIELD_MANAGER`). */
const INSTALL_FIELD_MANAGER = 'gitops-install';
/**
 * On every object install-agent applies, valued with the install's namespace: a later install finds by
 * it what an earlier one made (and prunes what the base no longer has), never anything else.
 */
const INSTALL_LABEL = `${labels_DOMAIN}/install`;
/** The conventional label naming the tool that manages an object, for people and other tools. */
const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** The labels install-agent puts on what it applies into `namespace`. */
function installLabels(namespace) {
    return { [MANAGED_BY_LABEL]: INSTALL_FIELD_MANAGER, [INSTALL_LABEL]: namespace };
}

;// CONCATENATED MODULE: ./src/lib/install/secrets.ts

/** The deploy key Secret of deploy/base: keys `identity` and `known_hosts`, mounted at /etc/gitops/ssh. */
const SSH_SECRET = 'gitops-agent-ssh';
/** Chat webhook URLs, one a line (the name deploy/examples uses). */
const NOTIFY_SECRET = {
    secretName: 'gitops-agent-notify',
    volume: 'notify',
    mountPath: '/etc/gitops/notify',
    key: 'urls',
    flag: 'notify',
};
/** The token the agent sets commit statuses with. */
const STATUS_TOKEN_SECRET = {
    secretName: 'gitops-agent-status-token',
    volume: 'status-token',
    mountPath: '/etc/gitops/status-token',
    key: 'token',
    flag: 'status-token',
};
/** A labelled Opaque Secret of `namespace`, its values base64-encoded in `data`. */
function secret(namespace, name, values) {
    return {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
            name,
            namespace,
            labels: {
                'app.kubernetes.io/name': 'gitops-agent',
                'app.kubernetes.io/part-of': 'gitops-actions',
                ...installLabels(namespace),
            },
        },
        type: 'Opaque',
        // `data`, not `stringData`: the server stores `data`, so a second apply of the same values is a no-op.
        data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    };
}
/** OpenSSH refuses a key file without its final newline; known_hosts reads better with one too. */
const withNewline = (text) => (text.endsWith('\n') ? text : `${text}\n`);
/** The Secret `gitops-agent-ssh` of `namespace`: the deploy key and the host keys the agent trusts. */
function sshKeySecret(namespace, identity, knownHosts) {
    return secret(namespace, SSH_SECRET, {
        identity: withNewline(identity),
        known_hosts: withNewline(knownHosts),
    });
}
/** Every Secret of an install: the deploy key's, and the notify and status token ones when given. */
function agentSecrets(namespace, values) {
    const secrets = [sshKeySecret(namespace, values.identity, values.knownHosts)];
    for (const [mount, value] of [
        [NOTIFY_SECRET, values.notify],
        [STATUS_TOKEN_SECRET, values.statusToken],
    ]) {
        if (value !== undefined)
            secrets.push(secret(namespace, mount.secretName, { [mount.key]: withNewline(value) }));
    }
    return secrets;
}
/** An object as it may be written to a file: a Secret without its values (`data`, `stringData`). */
function withoutSecretData(object) {
    if (object.kind !== 'Secret' || object.apiVersion !== 'v1')
        return object;
    const { data: _data, stringData: _stringData, ...rest } = object;
    return rest;
}

;// CONCATENATED MODULE: ./src/lib/install/ssh-key.ts
/**
 * The sync agent's SSH key: a new ed25519 key from `node:crypto`, or the user's own (OpenSSH or PEM;
 * ed25519, or RSA of 2048 bits or more), always handed back in OpenSSH's own file format
 * (`openssh-key-v1`, OpenSSH's PROTOCOL.key) with its public key line and fingerprint. The private key
 * stays out of JSON, `util.inspect` and every error message.
 */


/** RSA keys shorter than this are refused (OpenSSH itself refuses below 1024). */
const MIN_RSA_BITS = 2048;
/** A key pair; only `privateKey` is secret, and it is a getter so that no serialization shows it. */
class SshKey {
    type;
    bits;
    publicKey;
    fingerprint;
    #privateKey;
    constructor(type, bits, 
    /** `ssh-ed25519 AAAA… comment`: the line for `authorized_keys` or a deploy key. */
    publicKey, 
    /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
    fingerprint, privateKey) {
        this.type = type;
        this.bits = bits;
        this.publicKey = publicKey;
        this.fingerprint = fingerprint;
        this.#privateKey = privateKey;
    }
    /**
     * The OpenSSH private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`), unencrypted: the same text
     * for the same key and comment. For the Secret only; never for a log, an output or a file on disk.
     */
    get privateKey() {
        return this.#privateKey;
    }
}
/** A new ed25519 key whose public key line ends in `comment`. */
function generateSshKey(comment) {
    return sshKeyOf((0,external_node_crypto_.generateKeyPairSync)('ed25519').privateKey, comment);
}
/**
 * Reads a private key given by the user: OpenSSH's format or PEM (PKCS#1 `RSA PRIVATE KEY`, PKCS#8
 * `PRIVATE KEY`), unencrypted. `comment` goes on the public key when the key has none of its own.
 * Refuses other kinds of keys (ECDSA, DSA, security keys), encrypted ones, short RSA keys and public keys
 * with a `ConfigurationError` that says what to do and never quotes the key.
 */
function parsePrivateKey(text, comment = '') {
    // A key kept in a JSON string or an environment variable may come with its line breaks as `\n`
    const unescaped = text.includes('\n') ? text : text.replace(/(\\r)?\\n/g, '\n');
    const pem = unescaped.replace(/\r\n?/g, '\n').trim();
    const label = /^-----BEGIN ([A-Z0-9 ]+)-----\n/.exec(pem)?.[1];
    switch (label) {
        case 'OPENSSH PRIVATE KEY': {
            const parsed = readOpenSshKey(pem);
            return sshKeyOf(parsed.key, parsed.comment || comment);
        }
        case 'RSA PRIVATE KEY':
        case 'PRIVATE KEY':
            if (/^Proc-Type:\s*4,\s*ENCRYPTED/m.test(pem))
                throw encrypted();
            return sshKeyOf(readPem(pem, label), comment);
        case 'ENCRYPTED PRIVATE KEY':
            throw encrypted();
        case 'EC PRIVATE KEY':
            throw unsupported('an ECDSA key');
        case 'DSA PRIVATE KEY':
            throw unsupported('a DSA key');
        case 'PUBLIC KEY':
        case 'RSA PUBLIC KEY':
            throw publicNotPrivate();
    }
    if (/^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/]/.test(pem) || pem.startsWith('---- BEGIN SSH2 PUBLIC')) {
        throw publicNotPrivate();
    }
    if (pem.startsWith('PuTTY-User-Key-File')) {
        throw new errors_ConfigurationError('the SSH key is in PuTTY format: convert it with `puttygen key.ppk -O private-openssh -o key`');
    }
    throw new errors_ConfigurationError('the SSH key is not a private key in OpenSSH or PEM format ' +
        '(it should start with -----BEGIN OPENSSH PRIVATE KEY-----)');
}
/** The `SHA256:…` fingerprint of a public key line (`type base64 [comment]`), as `ssh-keygen -l` has it. */
function sshFingerprint(publicKey) {
    const body = publicKey.trim().split(/\s+/)[1];
    if (!body || !/^[A-Za-z0-9+/]+=*$/.test(body)) {
        // Not quoted: it could be a private key given by mistake
        throw new ConfigurationError('not an OpenSSH public key line (type base64 [comment])');
    }
    return fingerprintOf(Buffer.from(body, 'base64'));
}
// Errors
function encrypted() {
    return new errors_ConfigurationError('the SSH private key is encrypted (it has a passphrase), and the agent cannot type one: ' +
        'remove it on a copy with `ssh-keygen -p -N "" -f key`, or let a new key be made');
}
function unsupported(what) {
    return new errors_ConfigurationError(`the SSH private key is ${what}: only ed25519 and RSA keys (${MIN_RSA_BITS} bits or more) are ` +
        'accepted; make one with `ssh-keygen -t ed25519`, or let a new key be made');
}
/** 'an ECDSA key' for `ecdsa-sha2-nistp256` or `ec`, and so on. */
function kindOf(type) {
    if (/^(ecdsa|ec$)/.test(type))
        return 'an ECDSA key';
    if (/^(ssh-dss|dsa$)/.test(type))
        return 'a DSA key';
    if (type.startsWith('sk-'))
        return 'a security key (FIDO), which needs its device';
    return `a key of type ${type.replace(/[^\w@.-]/g, '?').slice(0, 40)}`;
}
function publicNotPrivate() {
    return new errors_ConfigurationError('the SSH key given is a public key: the agent needs the private key (the file without .pub)');
}
function corrupt(format) {
    return new errors_ConfigurationError(`the SSH private key (${format}) cannot be read: it is truncated or corrupt`);
}
// From a key object to the OpenSSH forms
function sshKeyOf(key, rawComment) {
    const comment = rawComment.replace(/\s+/g, ' ').trim();
    const keyType = key.asymmetricKeyType;
    if (keyType !== 'ed25519' && keyType !== 'rsa')
        throw unsupported(kindOf(keyType ?? 'unknown'));
    const jwk = key.export({ format: 'jwk' });
    const b64 = (field) => Buffer.from(field ?? '', 'base64url');
    let type;
    let bits;
    let publicBlob;
    let privateFields;
    if (keyType === 'ed25519') {
        const [seed, pk] = [b64(jwk.d), b64(jwk.x)];
        type = 'ssh-ed25519';
        bits = 256;
        publicBlob = Buffer.concat([sshString(type), sshString(pk)]);
        privateFields = Buffer.concat([publicBlob, sshString(Buffer.concat([seed, pk]))]);
    }
    else {
        type = 'ssh-rsa';
        bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
        if (bits < MIN_RSA_BITS) {
            throw new errors_ConfigurationError(`the SSH private key is an RSA key of ${bits} bits: at least ${MIN_RSA_BITS} are needed; ` +
                'make a new one with `ssh-keygen -t ed25519`, or let a new key be made');
        }
        const [n, e, d, p, q, qi] = [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q, jwk.qi].map(b64);
        publicBlob = Buffer.concat([sshString(type), mpint(e), mpint(n)]);
        // OpenSSH's order: n e d iqmp p q
        privateFields = Buffer.concat([sshString(type), ...[n, e, d, qi, p, q].map(mpint)]);
    }
    const publicKey = [type, publicBlob.toString('base64'), comment].filter(Boolean).join(' ');
    return new SshKey(type, bits, publicKey, fingerprintOf(publicBlob), openSshFile(publicBlob, privateFields, comment));
}
const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
/** An unencrypted `openssh-key-v1` file of one key, its base64 in lines of 70 as ssh-keygen writes. */
function openSshFile(publicBlob, privateFields, comment) {
    // The check integer only tells a right passphrase from a wrong one; unencrypted, any value does. One
    // taken from the key keeps the file the same for the same key, so a re-run finds nothing to change.
    const check = (0,external_node_crypto_.createHash)('sha256').update(publicBlob).digest().subarray(0, 4);
    const unpadded = Buffer.concat([check, check, privateFields, sshString(comment)]);
    // Padded with 1, 2, 3… to the cipher's block size, 8 for "none"
    const padding = Buffer.from(Array.from({ length: -unpadded.length & 7 }, (_, i) => i + 1));
    const body = Buffer.concat([
        MAGIC,
        sshString('none'), // cipher
        sshString('none'), // kdf
        sshString(''), // kdf options
        uint32(1),
        sshString(publicBlob),
        sshString(Buffer.concat([unpadded, padding])),
    ]).toString('base64');
    return [BEGIN, ...(body.match(/.{1,70}/g) ?? []), END, ''].join('\n');
}
function fingerprintOf(publicBlob) {
    return `SHA256:${(0,external_node_crypto_.createHash)('sha256').update(publicBlob).digest('base64').replace(/=+$/, '')}`;
}
// Reading
function readPem(pem, label) {
    try {
        return (0,external_node_crypto_.createPrivateKey)({ key: pem, format: 'pem' });
    }
    catch {
        // OpenSSL's message says nothing the user can act on, and nothing of the key either way.
        throw corrupt(`PEM ${label}`);
    }
}
/** The key and comment of an `openssh-key-v1` file, checked for one key, no encryption and consistency. */
function readOpenSshKey(pem) {
    const lines = pem.split('\n').map((line) => line.trim());
    if (lines.at(-1) !== END)
        throw corrupt('OpenSSH');
    const data = Buffer.from(lines.slice(1, -1).join(''), 'base64');
    if (!data.subarray(0, MAGIC.length).equals(MAGIC))
        throw corrupt('OpenSSH');
    const file = new Reader(data.subarray(MAGIC.length));
    const cipher = file.text();
    file.string(); // kdf
    file.string(); // kdf options
    const count = file.uint32();
    if (count !== 1) {
        throw new errors_ConfigurationError(`the SSH private key file holds ${count} keys: give one`);
    }
    const publicBlob = file.string();
    const publicType = new Reader(publicBlob).text();
    if (publicType !== 'ssh-ed25519' && publicType !== 'ssh-rsa')
        throw unsupported(kindOf(publicType));
    if (cipher !== 'none')
        throw encrypted();
    const inner = new Reader(file.string());
    if (inner.uint32() !== inner.uint32() || inner.text() !== publicType)
        throw corrupt('OpenSSH');
    const key = publicType === 'ssh-ed25519' ? readEd25519(inner) : readRsa(inner);
    const comment = inner.text();
    // The public key stored beside the private one must be the one the private key makes.
    if (sshKeyOf(key, '').publicKey !== `${publicType} ${publicBlob.toString('base64')}`) {
        throw corrupt('OpenSSH');
    }
    return { key, comment };
}
/** The private part of an ed25519 key: the public key, then the 32-byte seed and the public key again. */
function readEd25519(inner) {
    const pk = inner.string();
    const secret = inner.string();
    if (pk.length !== 32 || secret.length !== 64)
        throw corrupt('OpenSSH');
    // PKCS#8 of an Ed25519 key is a fixed 16-byte prefix and the 32-byte seed (RFC 8410).
    const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
    const der = Buffer.concat([prefix, secret.subarray(0, 32)]);
    return (0,external_node_crypto_.createPrivateKey)({ key: der, format: 'der', type: 'pkcs8' });
}
/** The private part of an RSA key: n e d iqmp p q, as a JWK (which wants d mod p-1 and q-1 too). */
function readRsa(inner) {
    const [n, e, d, iqmp, p, q] = Array.from({ length: 6 }, () => inner.mpint());
    if (p < 2n || q < 2n || p * q !== n)
        throw corrupt('OpenSSH');
    const numbers = { n, e, d, p, q, dp: d % (p - 1n), dq: d % (q - 1n), qi: iqmp };
    const jwk = Object.fromEntries(Object.entries(numbers).map(([k, v]) => [k, b64url(v)]));
    try {
        return (0,external_node_crypto_.createPrivateKey)({ key: { kty: 'RSA', ...jwk }, format: 'jwk' });
    }
    catch {
        throw corrupt('OpenSSH');
    }
}
/** SSH's wire format (RFC 4251 §5), read with bounds checks: a short file is corrupt, not a crash. */
class Reader {
    data;
    #at = 0;
    constructor(data) {
        this.data = data;
    }
    uint32() {
        if (this.#at + 4 > this.data.length)
            throw corrupt('OpenSSH');
        this.#at += 4;
        return this.data.readUInt32BE(this.#at - 4);
    }
    string() {
        const length = this.uint32();
        if (this.#at + length > this.data.length)
            throw corrupt('OpenSSH');
        this.#at += length;
        return this.data.subarray(this.#at - length, this.#at);
    }
    text() {
        return this.string().toString('utf8');
    }
    mpint() {
        const bytes = this.string();
        if (bytes.length === 0)
            return 0n;
        if (bytes[0] & 0x80)
            throw corrupt('OpenSSH'); // negative: no key has one
        return BigInt(`0x${bytes.toString('hex')}`);
    }
}
function uint32(n) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
}
function sshString(value) {
    const bytes = Buffer.from(value);
    return Buffer.concat([uint32(bytes.length), bytes]);
}
/** A non-negative integer from its big-endian bytes: no leading zeros, but one if the top bit is set. */
function mpint(bytes) {
    let start = 0;
    while (start < bytes.length && bytes[start] === 0)
        start++;
    const trimmed = bytes.subarray(start);
    return sshString(trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}
function b64url(n) {
    const hex = n.toString(16);
    return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');
}

;// CONCATENATED MODULE: ./src/lib/install/access.ts
/**
 * What an install needs before it applies anything: the cluster (a kubeconfig path, or its content kept
 * in a private temp file for the run only), the agent's key (the user's own, the one already in the
 * Secret, or a new one) and the git host's keys the agent trusts. Nothing here prints a private key.
 */









/** Kubeconfig content, not a path: it spans lines or starts like YAML or JSON. */
function isKubeconfigContent(value) {
    return /\n/.test(value.trim()) || /^\s*(apiVersion\s*:|kind\s*:|\{)/.test(value);
}
/** A client for the kubeconfig given (path or content), else KUBECONFIG / ~/.kube/config. */
async function connect(kubeconfig, tempRoot) {
    let dir;
    let path = kubeconfig;
    if (kubeconfig !== undefined && isKubeconfigContent(kubeconfig)) {
        dir = await external_node_fs_namespaceObject.promises.mkdtemp((0,external_node_path_namespaceObject.join)(tempRoot ?? (0,external_node_os_namespaceObject.tmpdir)(), 'gitops-kubeconfig-'));
        path = (0,external_node_path_namespaceObject.join)(dir, 'config');
        await external_node_fs_namespaceObject.promises.writeFile(path, kubeconfig, { mode: 0o600 });
    }
    const remove = async () => {
        if (dir)
            await external_node_fs_namespaceObject.promises.rm(dir, { recursive: true, force: true });
    };
    try {
        const client = KubeClient.load(path, { requestTimeoutMs: 30_000 });
        const close = async () => {
            client.close();
            await remove();
        };
        return { client, close };
    }
    catch (error) {
        await remove();
        throw error;
    }
}
/** The Secret of the agent's key in `namespace`. */
const sshSecretRef = (namespace) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace,
    name: SSH_SECRET,
});
/** The live Secret of the agent's key, if any; an error saying what to fix when the cluster says no. */
async function readSshSecret(client, namespace) {
    try {
        return await client.get(sshSecretRef(namespace));
    }
    catch (error) {
        const code = error instanceof errors_KubeError ? error.code : -1;
        if (code === 0)
            throw new errors_ConfigurationError(`install: no Kubernetes cluster reachable at ${client.server}: ${errorMessage(error)}. Check the kubeconfig (its server and credentials) and that this runner can reach the API server`, { cause: error });
        if (code === 401)
            throw new errors_ConfigurationError(`install: the API server at ${client.server} does not accept the kubeconfig's credentials: ${errorMessage(error)}`, { cause: error });
        if (code === 403)
            throw new errors_ConfigurationError(`install: the kubeconfig's user may not read the Secret ${SSH_SECRET} in the namespace ${namespace} (installing the agent takes cluster-admin): ${errorMessage(error)}`, { cause: error });
        throw error;
    }
}
/** A value of a Secret's `data`, decoded. */
function secretValue(secret, key) {
    const data = (secret?.data ?? {});
    return data[key] === undefined ? undefined : Buffer.from(data[key], 'base64').toString('utf8');
}
/** The repository must be an SSH URL: the agent reads it with the deploy key. */
function checkSshRepository(repository) {
    if (transportOf(repository) !== 'ssh' || /\s/.test(repository))
        throw new errors_ConfigurationError(`repository: '${repository}' is not an SSH URL (git@host:owner/repo.git or ssh://git@host/owner/repo.git): the agent reads the repository with a read-only deploy key`);
}
/** The given known_hosts, GitHub's published keys for github.com, or the ones installed before. */
function knownHostsFor(repository, given, installed) {
    if (given)
        return given;
    if (isGithubSsh(repository))
        return GITHUB_KNOWN_HOSTS.join('\n');
    if (installed?.trim())
        return installed;
    throw new errors_ConfigurationError(`known-hosts: required for ${repository} (only github.com's keys are built in): give the host's lines, e.g. the output of \`ssh-keyscan <host>\` checked against the keys the host publishes`);
}
/**
 * The key to install: the user's own (`given`), the Secret's (a second run changes nothing), or a new
 * ed25519 one; with `rotate`, a new one (or the user's) in place of the Secret's.
 */
function chooseKey(given, installedIdentity, rotate, comment) {
    let installed;
    if (installedIdentity) {
        try {
            installed = parsePrivateKey(installedIdentity, comment);
        }
        catch {
            // A Secret holding no usable key is replaced, as if there were none.
            installed = undefined;
        }
    }
    const key = given ? parsePrivateKey(given, comment) : undefined;
    if (rotate)
        return { key: key ?? generateSshKey(comment), action: 'rotated', previous: installed };
    if (key) {
        const replaced = installed && installed.fingerprint !== key.fingerprint ? installed : undefined;
        return { key, action: 'provided', previous: replaced };
    }
    if (installed)
        return { key: installed, action: 'reused' };
    return { key: generateSshKey(comment), action: 'generated' };
}

;// CONCATENATED MODULE: ./src/lib/git-host/host.ts
/** Who the git host is (GitHub or GitLab), where its API is, and the one error its API calls throw. */


/** A call to a git host's API that failed: which call (without its query), the status, what it said. */
class GitHostApiError extends Error {
    status;
    constructor(message, 
    /** The HTTP status, when the host answered. */
    status) {
        super(message);
        this.status = status;
        this.name = 'GitHostApiError';
    }
}
/** The host a remote URL names: GitLab when its host name says gitlab, else GitHub. */
function gitHostOf(gitUrl) {
    return hostOf(gitUrl)?.includes('gitlab') ? 'gitlab' : 'github';
}
/**
 * The API of the host that serves `gitUrl`: `https://<host>/api/v4` for GitLab, `api.github.com` for
 * github.com (or a local remote), `https://<host>/api/v3` for GitHub Enterprise.
 */
function defaultApiUrl(host, gitUrl) {
    const name = hostOf(gitUrl);
    if (host === 'gitlab')
        return `https://${name ?? 'gitlab.com'}/api/v4`;
    return !name || name === 'github.com' ? 'https://api.github.com' : `https://${name}/api/v3`;
}
/** The `owner/name` (GitHub) or project path (GitLab) of a repository URL or `owner/name` string. */
function projectOf(repository) {
    const path = repository
        .replace(/^file:\/\//i, '')
        .replace(/^[a-z+]+:\/\/[^/]+\//i, '')
        .replace(/^[^@/]+@[^:/]+:/, '')
        .replace(/\.git$/, '')
        .replace(/^\/+|\/+$/g, '');
    if (!/^[\w.-]+(\/[\w.-]+)+$/.test(path)) {
        throw new errors_ConfigurationError(`cannot tell the project of '${repository}' for the pull request API`);
    }
    return path;
}

;// CONCATENATED MODULE: ./src/lib/git-host/github.ts
/** GitHub's REST API through Octokit (`@actions/github`), loaded only when a call is made. */


/** Octokit for one GitHub repository (`owner/name`, the last two parts of `project`). */
async function github_githubRepository(apiUrl, token, project) {
    const [owner, repo] = project.split('/').slice(-2);
    // Loaded on demand: Octokit is most of a bundle and only pull requests and commit statuses need it.
    const { getOctokit } = await __nccwpck_require__.e(/* import() */ 413).then(__nccwpck_require__.bind(__nccwpck_require__, 2413));
    return { octokit: getOctokit(token, { baseUrl: apiUrl }), owner, repo };
}
/** Runs one Octokit call; a failure becomes a `GitHostApiError` naming the call and the status. */
async function github_githubCall(what, call) {
    try {
        return await call();
    }
    catch (error) {
        const status = error.status;
        const code = typeof status === 'number' ? status : undefined;
        throw new GitHostApiError(`GitHub API ${what}: ${code !== undefined ? `${code} ` : ''}${errorMessage(error)}`, code);
    }
}

;// CONCATENATED MODULE: ./src/lib/git-host/gitlab.ts
/** GitLab's REST API (v4), as publish (merge requests) and the agent (commit statuses) call it. */


/**
 * One call with the token in GitLab's own header; the answer's JSON. A failure says which call (without
 * its query), the status and the start of what GitLab answered.
 */
async function gitlab_gitlabCall(api, method, path, options = {}) {
    const url = `${api.apiUrl.replace(/\/+$/, '')}${path}`;
    const call = `GitLab API ${method} ${url.replace(/\?.*/, '')}`;
    let response;
    let text;
    try {
        response = await fetch(url, {
            method,
            headers: { 'PRIVATE-TOKEN': api.token, 'Content-Type': 'application/json' },
            body: options.body ? JSON.stringify(options.body) : undefined,
            signal: options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined,
        });
        text = await response.text();
    }
    catch (error) {
        throw new GitHostApiError(`${call}: ${errorMessage(error)}`);
    }
    if (!response.ok) {
        throw new GitHostApiError(`${call}: ${response.status} ${text.slice(0, 300)}`, response.status);
    }
    try {
        return (text ? JSON.parse(text) : undefined);
    }
    catch {
        throw new GitHostApiError(`${call}: the answer is not JSON: ${text.slice(0, 120)}`);
    }
}

;// CONCATENATED MODULE: ./src/lib/git-host/commit-status.ts
/** Setting one commit status on GitHub or GitLab. */


/** A git host that does not answer within this long must not hold up the caller. */
const STATUS_TIMEOUT_MS = 10_000;
/** Sets `status` on commit `sha` of `project` (`owner/name` or a GitLab project path). */
async function setCommitStatus(api, project, sha, status) {
    const { state, context, description } = status;
    if (api.host === 'gitlab') {
        const path = ['projects', project, 'statuses', sha].map(encodeURIComponent).join('/');
        await gitlabCall(api, 'POST', `/${path}`, {
            body: { state: state === 'failure' ? 'failed' : state, name: context, description },
            timeoutMs: STATUS_TIMEOUT_MS,
        });
        return;
    }
    const { octokit, owner, repo } = await githubRepository(api.apiUrl, api.token, project);
    await githubCall('create a commit status', () => octokit.rest.repos.createCommitStatus({
        owner,
        repo,
        sha,
        state,
        context,
        description,
        request: { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) },
    }));
}

;// CONCATENATED MODULE: ./src/lib/git-host/deploy-keys.ts
/**
 * The deploy keys of one repository on GitHub (`repos.*DeployKey*` through Octokit) or GitLab (the
 * project's `deploy_keys`): how the sync agent's public key is registered, read-only, and found again.
 */




/** A host lists this many keys a page; a project with more pages than the cap is not read to the end. */
const PER_PAGE = 100;
const MAX_PAGES = 50;
/**
 * Registers `spec.publicKey` read-only unless the repository has it already: the same key (type and
 * base64 body; titles and comments may differ) is kept as it is. A key that is there with write access
 * is refused, never kept: an agent only reads, and a key that can push is a risk to remove by hand.
 */
async function ensureDeployKey(api, project, spec) {
    const found = await findDeployKey(api, project, spec.publicKey);
    if (found)
        return { id: keptReadOnly(found, project).id, created: false };
    try {
        return { id: (await createDeployKey(api, project, spec)).id, created: true };
    }
    catch (error) {
        // Another job may have registered it meanwhile (GitHub: 422 in use; GitLab: 400 taken)
        const raced = error instanceof GitHostApiError && [400, 422].includes(error.status ?? 0);
        const now = raced ? await findDeployKey(api, project, spec.publicKey) : undefined;
        if (!now)
            throw error;
        return { id: keptReadOnly(now, project).id, created: false };
    }
}
/** Every deploy key of the repository. */
async function listDeployKeys(api, project) {
    return withPermissionHint(api, project, async () => {
        if (api.host === 'gitlab') {
            const keys = [];
            for (let page = 1; page <= MAX_PAGES; page++) {
                const query = new URLSearchParams({ per_page: `${PER_PAGE}`, page: `${page}` });
                const batch = await gitlab_gitlabCall(api, 'GET', `${keysPath(project)}?${query}`);
                keys.push(...batch.map((k) => ({ ...pick(k), readOnly: !k.can_push })));
                if (batch.length < PER_PAGE)
                    break;
            }
            return keys;
        }
        const { octokit, owner, repo } = await github_githubRepository(api.apiUrl, api.token, project);
        const keys = await github_githubCall('list deploy keys', () => octokit.paginate(octokit.rest.repos.listDeployKeys, { owner, repo, per_page: PER_PAGE }));
        return keys.map((k) => ({ ...pick(k), readOnly: k.read_only }));
    });
}
/** The repository's deploy key with the same public key (comments aside), if it has one. */
async function findDeployKey(api, project, publicKey) {
    const wanted = keyIdentity(publicKey);
    return (await listDeployKeys(api, project)).find((k) => safeIdentity(k.key) === wanted);
}
/** Registers a deploy key that can only read (`read_only: true`, `can_push: false`). */
async function createDeployKey(api, project, spec) {
    const key = keyIdentity(spec.publicKey);
    return withPermissionHint(api, project, async () => {
        if (api.host === 'gitlab') {
            const body = { title: spec.title, key, can_push: false };
            const made = await gitlab_gitlabCall(api, 'POST', keysPath(project), { body });
            return { ...pick(made), readOnly: !made.can_push };
        }
        const { octokit, owner, repo } = await github_githubRepository(api.apiUrl, api.token, project);
        const made = await github_githubCall('create a deploy key', () => octokit.rest.repos.createDeployKey({ owner, repo, title: spec.title, key, read_only: true })).catch((error) => {
            if (!(error instanceof GitHostApiError) || !/already in use/.test(error.message))
                throw error;
            throw new GitHostApiError(`${error.message}: GitHub takes a key as the deploy key of one repository only, and not ` +
                'as a user key as well: give this repository a key of its own', error.status);
        });
        return { ...pick(made.data), readOnly: made.data.read_only };
    });
}
/**
 * Deletes deploy key `id`; false when the repository no longer has it (a host answers 404 both for a
 * missing key and for a token that may not see the keys: the list tells the two apart).
 */
async function deleteDeployKey(api, project, id) {
    try {
        await withPermissionHint(api, project, async () => {
            if (api.host === 'gitlab') {
                await gitlab_gitlabCall(api, 'DELETE', `${keysPath(project)}/${id}`);
                return;
            }
            const { octokit, owner, repo } = await github_githubRepository(api.apiUrl, api.token, project);
            await github_githubCall(`delete deploy key ${id}`, () => octokit.rest.repos.deleteDeployKey({ owner, repo, key_id: id }));
        });
        return true;
    }
    catch (error) {
        if (!(error instanceof GitHostApiError) || error.status !== 404)
            throw error;
        const keys = await listDeployKeys(api, project).catch(() => undefined);
        if (!keys || keys.some((k) => k.id === id))
            throw error;
        return false;
    }
}
/** Whether two public key lines are the same key: type and base64 body, whatever the comments. */
function samePublicKey(a, b) {
    return safeIdentity(a) !== undefined && safeIdentity(a) === safeIdentity(b);
}
// Helpers
function keptReadOnly(key, project) {
    if (key.readOnly)
        return key;
    throw new GitHostApiError(`the deploy key "${key.title}" (id ${key.id}) of ${project} is this public key with write ` +
        'access, and the sync agent must only read: delete that deploy key on the git host, then run ' +
        'again to register the key read-only');
}
function keysPath(project) {
    return `/projects/${encodeURIComponent(project)}/deploy_keys`;
}
function pick(k) {
    return { id: k.id, title: k.title, key: k.key };
}
/** `type base64` of a public key line, the part hosts compare; a ConfigurationError for anything else. */
function keyIdentity(publicKey) {
    const identity = safeIdentity(publicKey);
    if (!identity) {
        throw new errors_ConfigurationError('the deploy key must be an OpenSSH public key line (ssh-ed25519 AAAA… or ssh-rsa AAAA…)');
    }
    return identity;
}
function safeIdentity(publicKey) {
    const [type, body] = publicKey.trim().split(/\s+/);
    const valid = /^[a-z0-9@.-]+$/i.test(type ?? '') && /^AAAA[A-Za-z0-9+/]+=*$/.test(body ?? '');
    return valid ? `${type} ${body}` : undefined;
}
/**
 * Runs calls of the deploy keys API; a 401, 403 or 404 says which right the token lacks, after what the
 * host said.
 */
async function withPermissionHint(api, project, call) {
    try {
        return await call();
    }
    catch (error) {
        const status = error instanceof GitHostApiError ? error.status : undefined;
        if (status !== 401 && status !== 403 && status !== 404)
            throw error;
        throw new GitHostApiError(`${errorMessage(error)}: ${permissionHint(api, project, status)}`, status);
    }
}
function permissionHint(api, project, status) {
    if (status === 401)
        return 'the token is not valid (mistyped, expired or revoked)';
    const lacks = api.host === 'gitlab'
        ? `the token cannot manage the deploy keys of ${project}: it needs the Maintainer role ` +
            'on the project (or Owner) and the api scope'
        : `the token cannot manage the deploy keys of ${project}: it needs admin on the repository ` +
            '(a fine-grained token with "Administration: write" on it, or a classic token with the repo ' +
            "scope of a repository admin; a workflow's GITHUB_TOKEN never can)";
    const host = api.host === 'gitlab' ? 'GitLab' : 'GitHub';
    return status === 404
        ? `${lacks}. ${host} also answers 404 when the repository does not exist or the token cannot see it`
        : lacks;
}

;// CONCATENATED MODULE: ./src/lib/git-host/pull-request.ts


/** Opens the request, or updates the open one from the same branch; returns its web URL. */
async function openPullRequest(api, spec, log) {
    return api.host === 'gitlab'
        ? gitlabMergeRequest(api, spec, log)
        : githubPullRequest(api, spec, log);
}
async function githubPullRequest(api, spec, log) {
    const { octokit, owner, repo } = await github_githubRepository(api.apiUrl, api.token, api.project);
    const open = await github_githubCall('list pull requests', () => octokit.rest.pulls.list({
        owner,
        repo,
        head: `${owner}:${spec.head}`,
        base: spec.base,
        state: 'open',
    }));
    const existing = open.data[0];
    if (existing) {
        await github_githubCall(`update pull request #${existing.number}`, () => octokit.rest.pulls.update({
            owner,
            repo,
            pull_number: existing.number,
            title: spec.title,
            body: spec.body,
        }));
        log.info(`Updated pull request #${existing.number}: ${existing.html_url}`);
        return existing.html_url;
    }
    const created = await github_githubCall('create a pull request', () => octokit.rest.pulls.create({
        owner,
        repo,
        head: spec.head,
        base: spec.base,
        title: spec.title,
        body: spec.body,
    }));
    log.info(`Opened pull request #${created.data.number}: ${created.data.html_url}`);
    return created.data.html_url;
}
async function gitlabMergeRequest(api, spec, log) {
    const base = `/projects/${encodeURIComponent(api.project)}/merge_requests`;
    const call = (method, path, body) => gitlab_gitlabCall(api, method, path, { body });
    const query = new URLSearchParams({
        source_branch: spec.head,
        target_branch: spec.base,
        state: 'opened',
    });
    const open = await call('GET', `${base}?${query}`);
    const fields = { title: spec.title, description: spec.body };
    if (open.length > 0) {
        const mr = await call('PUT', `${base}/${open[0].iid}`, fields);
        log.info(`Updated merge request !${mr.iid}: ${mr.web_url}`);
        return mr.web_url;
    }
    const mr = await call('POST', base, {
        ...fields,
        source_branch: spec.head,
        target_branch: spec.base,
        remove_source_branch: true,
    });
    log.info(`Opened merge request !${mr.iid}: ${mr.web_url}`);
    return mr.web_url;
}

;// CONCATENATED MODULE: ./src/lib/git-host/index.ts
/** The git host's API: who the host is, pull and merge requests, commit statuses, deploy keys. */





;// CONCATENATED MODULE: ./src/lib/manifests/objects.ts
/**
 * Kubernetes objects as this tool handles them: validation, identity, the stable order, the canonical
 * form and its digest.
 */



// What the Kubernetes API server takes, so a name never becomes a path (file names, API paths): kinds
// are words (a DNS-1035 label once lower-cased, as the API server checks a CRD's kind); apiVersion is
// `v1` or `<DNS subdomain group>/<version>`; names follow the generic path-segment rule (per-kind rules
// are the API server's, and `system:controller:x` is a valid RBAC name), and a backslash, which no
// built-in kind allows and which is a path separator on Windows, is refused too; namespaces are DNS labels.
const KIND = /^[A-Za-z]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const VERSION = DNS_LABEL;
const NAME_FORBIDDEN = /[/\\%\p{Cc}]/u;
function isDnsSubdomain(value) {
    return value.length <= 253 && value.split('.').every((label) => DNS_LABEL.test(label));
}
function isApiVersion(value) {
    if (value === 'v1')
        return true;
    const parts = value.split('/');
    return parts.length === 2 && isDnsSubdomain(parts[0]) && VERSION.test(parts[1]);
}
function isName(value) {
    return (value !== '' &&
        value.length <= 253 &&
        value !== '.' &&
        value !== '..' &&
        !NAME_FORBIDDEN.test(value));
}
/** A value for a message: quoted, escaped, and cut short. */
function shown(value) {
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
/**
 * Checks that every document is a well-formed Kubernetes object (apiVersion, kind, metadata.name), that
 * no two share kind/namespace/name, and that no plaintext Secret slips through unless allowed. Every
 * problem is collected and reported at once; a Secret's data never appears in a message.
 */
function validateManifests(docs, options = {}) {
    const problems = [];
    const seen = new Map();
    const manifests = [];
    for (const { source, value } of docs) {
        const apiVersion = value.apiVersion;
        const kind = value.kind;
        const metadata = value.metadata;
        const missing = [];
        if (typeof apiVersion !== 'string' || apiVersion === '')
            missing.push('apiVersion');
        if (typeof kind !== 'string' || kind === '')
            missing.push('kind');
        if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
            missing.push('metadata');
        }
        else if (typeof metadata.name !== 'string' || metadata.name === '') {
            missing.push('metadata.name');
        }
        if (missing.length > 0) {
            problems.push(`${source}: not a Kubernetes object: missing ${missing.join(', ')}`);
            continue;
        }
        const object = value;
        const problem = identityProblem(object);
        if (problem !== undefined) {
            problems.push(`${source}: ${problem}`);
            continue;
        }
        if (isPlainSecret(object) && !options.allowSecrets) {
            problems.push(`${source}: ${describeObject(object)} is a plaintext Secret; keep secrets out of git ` +
                `(use SealedSecrets, SOPS or an external secret store) or set allow-secrets: true`);
            continue;
        }
        const key = objectKey(object);
        const first = seen.get(key);
        if (first !== undefined) {
            problems.push(`${source}: duplicate ${describeObject(object)} (also in ${first})`);
            continue;
        }
        seen.set(key, source);
        manifests.push({ source, object });
    }
    if (problems.length > 0) {
        throw new errors_ConfigurationError(`${problems.length} invalid manifest${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}`);
    }
    return manifests;
}
/** What is wrong with an object's kind, apiVersion, name or namespace, naming the object; or nothing. */
function identityProblem(object) {
    const { kind, apiVersion } = object;
    const { name, namespace } = object.metadata;
    if (!KIND.test(kind)) {
        return `object ${shown(name)} has an invalid kind ${shown(kind)} (a word of letters, digits and -, starting with a letter, at most 63)`;
    }
    if (!isName(name)) {
        return `${kind} has an invalid metadata.name ${shown(name)} (at most 253 characters, not . or .., no /, \\, % or control characters)`;
    }
    if (!isApiVersion(apiVersion)) {
        return `${kind}/${name} has an invalid apiVersion ${shown(apiVersion)} (v1 or <group>/<version>)`;
    }
    if (namespace !== undefined && (typeof namespace !== 'string' || !DNS_LABEL.test(namespace))) {
        return `${kind}/${name} has an invalid metadata.namespace (a DNS label: lower case, digits, -, at most 63)`;
    }
    return undefined;
}
function isPlainSecret(object) {
    return object.kind === 'Secret' && object.apiVersion === 'v1';
}
// Apply order, after Flux's ssa/sort.go (itself after Helm's install order): what others depend on
// comes first. Unknown kinds (custom resources) go last.
const KIND_ORDER = [
    'CustomResourceDefinition',
    'Namespace',
    'ResourceQuota',
    'StorageClass',
    'LimitRange',
    'PodSecurityPolicy',
    'PodDisruptionBudget',
    'PriorityClass',
    'ServiceAccount',
    'Secret',
    'SecretList',
    'ConfigMap',
    'PersistentVolume',
    'PersistentVolumeClaim',
    'ClusterRole',
    'ClusterRoleList',
    'ClusterRoleBinding',
    'ClusterRoleBindingList',
    'Role',
    'RoleList',
    'RoleBinding',
    'RoleBindingList',
    'Service',
    'DaemonSet',
    'Pod',
    'ReplicationController',
    'ReplicaSet',
    'Deployment',
    'HorizontalPodAutoscaler',
    'StatefulSet',
    'Job',
    'CronJob',
    'IngressClass',
    'Ingress',
    'APIService',
    'MutatingWebhookConfiguration',
    'ValidatingWebhookConfiguration',
];
const KIND_RANK = new Map(KIND_ORDER.map((kind, i) => [kind, i]));
/** Sorts objects into the stable order: by kind rank, then kind, namespace, name, apiVersion. */
function sortObjects(items) {
    const rank = (o) => KIND_RANK.get(o.kind) ?? KIND_ORDER.length;
    const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
    return [...items].sort((x, y) => rank(x.object) - rank(y.object) ||
        cmp(x.object.kind, y.object.kind) ||
        cmp(x.object.metadata.namespace ?? '', y.object.metadata.namespace ?? '') ||
        cmp(x.object.metadata.name, y.object.metadata.name) ||
        cmp(x.object.apiVersion, y.object.apiVersion));
}
/** A copy with every mapping's keys sorted: the canonical JSON form. */
function canonicalJson(value) {
    return JSON.stringify(sortKeys(value));
}
function sortKeys(value) {
    if (Array.isArray(value))
        return value.map(sortKeys);
    if (value !== null && typeof value === 'object') {
        const out = {};
        for (const key of Object.keys(value).sort()) {
            out[key] = sortKeys(value[key]);
        }
        return out;
    }
    return value;
}
/** sha256 of one object's canonical JSON. */
function objectDigest(object) {
    return (0,external_node_crypto_.createHash)('sha256').update(canonicalJson(object)).digest('hex');
}
/**
 * sha256 of a set of objects: their canonical JSON in the stable order, one per line. Independent of
 * file names, key order, YAML style and machine, so the same objects always give the same digest.
 */
function manifestsDigest(objects) {
    const sorted = sortObjects(objects.map((object) => ({ object })));
    const hash = (0,external_node_crypto_.createHash)('sha256');
    for (const { object } of sorted)
        hash.update(canonicalJson(object)).update('\n');
    return `sha256:${hash.digest('hex')}`;
}

;// CONCATENATED MODULE: ./src/lib/kube/apply.ts
/**
 * Applying and pruning, after Flux's `ssa` package: apply in stages (CRDs and Namespaces, then other
 * cluster-scoped objects, then the rest) with bounded concurrency, one change-set entry per object; prune
 * by inventory, only what still carries the unit's label and is not protected.
 */





/** `group/Kind` of an object's type (`/Kind` for the core group). */
function groupKind(apiVersion, kind) {
    return `${apiVersion.includes('/') ? apiVersion.split('/')[0] : ''}/${kind}`;
}
/**
 * Whether each kind the given CRDs define is namespaced, from the CRDs themselves: a kind whose CRD is
 * applied in the same sync is not served yet, so discovery cannot tell.
 */
function crdScopes(objects) {
    const scopes = new Map();
    for (const o of objects) {
        if (o.kind !== 'CustomResourceDefinition')
            continue;
        const spec = o.spec;
        if (spec?.group && spec.names?.kind)
            scopes.set(`${spec.group}/${spec.names.kind}`, spec.scope !== 'Cluster');
    }
    return scopes;
}
/** How long a CRD may take to be Established (names accepted, its kind served). */
const ESTABLISH_TIMEOUT_MS = 60_000;
/** Waits until every CRD is Established; the problems of those that are not, by the timeout. */
async function waitEstablished(client, crds, timeoutMs = ESTABLISH_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    const pending = new Map(crds.map((c) => [c.metadata.name, 'not Established yet']));
    for (;;) {
        for (const crd of crds.filter((c) => pending.has(c.metadata.name))) {
            const live = await client.get(refOf(crd));
            const conditions = live?.status
                ?.conditions ?? [];
            if (conditions.some((c) => c.type === 'Established' && c.status === 'True'))
                pending.delete(crd.metadata.name);
            else {
                const problem = conditions.find((c) => c.status === 'False' && c.message);
                if (problem)
                    pending.set(crd.metadata.name, `${problem.type}: ${problem.message}`);
            }
        }
        if (pending.size === 0 || Date.now() >= deadline)
            return pending;
        await sleep(200);
    }
}
/** Puts CRDs and Namespaces first, then cluster-scoped objects, then namespaced ones. */
function stages(objects) {
    const first = objects.filter((o) => o.object.kind === 'CustomResourceDefinition' || o.object.kind === 'Namespace');
    const cluster = objects.filter((o) => !first.includes(o) && !o.namespaced);
    const rest = objects.filter((o) => !first.includes(o) && o.namespaced);
    return [first, cluster, rest].map((s) => s.map((o) => o.object)).filter((s) => s.length > 0);
}
/** The parts of a live object that say what it is, without what the server stamps on it. */
function comparable(object) {
    const { metadata, status: _status, ...rest } = object;
    const { managedFields: _m, resourceVersion: _r, generation: _g, creationTimestamp: _c, uid: _u, ...meta } = metadata;
    return canonicalJson({ ...rest, metadata: meta });
}
/**
 * Applies objects stage by stage. With `dryRun`, nothing is written: each object is applied with the
 * server's dry run and compared with the live one to say created / configured / unchanged.
 */
async function applyObjects(client, objectStages, options) {
    const entries = [];
    const isNew = (o) => options.newKinds?.has(groupKind(o.apiVersion, o.kind)) === true;
    // Once a request gets no answer in time, the rest are not sent: a stuck server would otherwise hold
    // the unit for one timeout per object in turn.
    let unanswered;
    for (const stage of objectStages) {
        const results = await Promise.all(stage.map((object) => options.limiter.run(async () => {
            const ref = refOf(object);
            if (unanswered)
                return {
                    ref,
                    action: 'failed',
                    error: `not sent: an earlier request of the unit got no answer (${unanswered})`,
                };
            try {
                if (!options.dryRun) {
                    await applyOnce(client, object, isNew(object));
                    return { ref, action: 'applied' };
                }
                const live = await client.get(ref);
                if (!live)
                    return { ref, action: 'created' };
                const planned = await client.apply(object, {
                    fieldManager: FIELD_MANAGER,
                    force: true,
                    dryRun: true,
                });
                return {
                    ref,
                    action: comparable(planned) === comparable(live) ? 'unchanged' : 'configured',
                };
            }
            catch (error) {
                if (error instanceof KubeError && error.reason === 'Timeout')
                    unanswered ??= error.message;
                // A dry run cannot apply objects of a kind whose CRD it would create: they would be created.
                if (options.dryRun && isNew(object) && isUnserved(error))
                    return { ref, action: 'created' };
                return {
                    ref,
                    action: 'failed',
                    error: error instanceof Error ? error.message : String(error),
                };
            }
        })));
        entries.push(...results);
        // A failed CRD or Namespace would fail everything after it: stop here.
        if (results.some((r) => r.action === 'failed'))
            break;
        // Custom resources need their CRD Established first.
        const crds = stage.filter((o) => o.kind === 'CustomResourceDefinition');
        if (!options.dryRun && crds.length > 0) {
            const pending = await waitEstablished(client, crds).catch((error) => new Map(crds.map((c) => [c.metadata.name, `cannot read it: ${String(error)}`])));
            if (pending.size > 0) {
                for (const entry of results.filter((r) => pending.has(r.ref.name))) {
                    entry.action = 'failed';
                    entry.error = `CustomResourceDefinition/${entry.ref.name} is not Established after ${ESTABLISH_TIMEOUT_MS / 1000} s: ${pending.get(entry.ref.name)}`;
                }
                break;
            }
        }
    }
    return entries;
}
/** The kind is not served (yet): discovery found nothing. */
function isUnserved(error) {
    return error instanceof KubeError && error.code === 404 && error.message.startsWith('discover ');
}
/**
 * Server-side apply. An object of a kind whose CRD was just Established is tried again for a few seconds
 * while the server's discovery catches up.
 */
async function applyOnce(client, object, newKind) {
    for (let attempt = 0;; attempt++) {
        try {
            await client.applyOnly(object, { fieldManager: FIELD_MANAGER, force: true });
            return;
        }
        catch (error) {
            if (!newKind || !isUnserved(error) || attempt >= 20)
                throw error;
            await sleep(250);
        }
    }
}
/**
 * Deletes what a unit's inventory had and nobody declares now, if the live object still carries the
 * unit's label and is neither protected (Namespaces, CRDs, PVCs, unless annotated `prune: allow`) nor
 * annotated `prune: disabled`. `dryRun` only says what would go.
 */
async function pruneObjects(client, candidates, owner, options) {
    return Promise.all(candidates.map((ref) => options.limiter.run(async () => {
        const protectedBy = options.protect?.(ref);
        if (protectedBy)
            return { ref, action: 'skipped', error: protectedBy };
        try {
            const live = await client.get(ref);
            if (!live)
                return { ref, action: 'skipped', error: 'already gone' };
            const labels = (live.metadata.labels ?? {});
            const annotations = (live.metadata.annotations ?? {});
            if (labels[UNIT_LABEL] !== owner.unit || labels[AGENT_LABEL] !== owner.agent)
                return { ref, action: 'skipped', error: 'now belongs to another unit or to nobody' };
            if (annotations[PRUNE_ANNOTATION] === 'disabled')
                return { ref, action: 'skipped', error: `annotated ${PRUNE_ANNOTATION}: disabled` };
            if (PROTECTED_KINDS.has(ref.kind) && annotations[PRUNE_ANNOTATION] !== 'allow') {
                return {
                    ref,
                    action: 'skipped',
                    error: `a ${ref.kind} is pruned only when annotated ${PRUNE_ANNOTATION}: allow`,
                };
            }
            if (options.dryRun)
                return { ref, action: 'deleted' };
            // Bound to the object just checked: one created again since then is not ours to delete.
            await client.delete(ref, live.metadata.uid);
            return { ref, action: 'deleted' };
        }
        catch (error) {
            return {
                ref,
                action: 'failed',
                error: error instanceof KubeError
                    ? error.message
                    : `delete ${describeRef(ref)}: ${String(error)}`,
            };
        }
    })));
}

;// CONCATENATED MODULE: ./src/lib/install/apply.ts
/**
 * Applying an install: server-side apply through the project's client as `gitops-install`, the
 * Namespace first, then the agent's identity and rights (ServiceAccount, ClusterRole, bindings), then the
 * rest, one object at a time, stopping at the first failure: every step is idempotent, so a re-run
 * repairs what a failed one left. Then what an earlier install into the same namespace made and this one
 * no longer has is pruned, found by the install label; nothing without that label is ever touched.
 */





/** An install that stopped: what to fix, and what it had done before (`changes`). */
class InstallApplyError extends errors_ConfigurationError {
    changes;
    constructor(message, changes, options) {
        super(message, options);
        this.changes = changes;
        this.name = 'InstallApplyError';
    }
}
/** The apply order: the namespace, then who the agent is and what it may do, then the rest. */
const FIRST = [
    'Namespace',
    'ServiceAccount',
    'ClusterRole',
    'ClusterRoleBinding',
    'Role',
    'RoleBinding',
];
/** The pod starts last, once the Secrets it mounts and its rights are there. */
const LAST = ['Deployment'];
const rank = (kind) => FIRST.includes(kind)
    ? FIRST.indexOf(kind)
    : LAST.includes(kind)
        ? FIRST.length + 1 + LAST.indexOf(kind)
        : FIRST.length;
/** Objects in apply order (a stable sort: the same kinds keep the order given). */
function inApplyOrder(items) {
    return [...items].sort((a, b) => rank(a.kind) - rank(b.kind));
}
/** Kinds an install has made, looked through for leftovers besides the kinds it applies now. */
const INSTALL_KINDS = [
    ['v1', 'ServiceAccount'],
    ['v1', 'Secret'],
    ['v1', 'ConfigMap'],
    ['v1', 'Service'],
    ['apps/v1', 'Deployment'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
    ['rbac.authorization.k8s.io/v1', 'Role'],
    ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
];
/** Whether an object carries the labels of the install into `namespace`. */
function isInstalledBy(object, namespace) {
    const labels = (object.metadata.labels ?? {});
    return labels[INSTALL_LABEL] === namespace && labels[MANAGED_BY_LABEL] === INSTALL_FIELD_MANAGER;
}
/**
 * Applies the install's objects and prunes what an earlier install left; one change per object, in the
 * order done. Throws an `InstallApplyError` naming the object and what to fix at the first failure.
 */
async function applyInstall(client, objects, options) {
    const unlabelled = objects.filter((o) => !isInstalledBy(o, options.namespace));
    // An object without the label could never be pruned by a later install: a bug, not the user's.
    if (unlabelled.length > 0)
        throw new Error(`install: ${unlabelled.map((o) => identity_describeRef(identity_refOf(o))).join(', ')} lack the install's labels`);
    const changes = [];
    const dryRun = options.dryRun === true;
    for (const object of inApplyOrder(objects)) {
        const ref = identity_refOf(object);
        let action;
        try {
            action = await applyOne(client, object, dryRun);
        }
        catch (error) {
            throw apply_failure(client, error, 'apply', ref, changes);
        }
        changes.push({ ref, action });
        options.log.info(`${identity_describeRef(ref)} ${action}${dryRun ? ' (dry run)' : ''}`);
    }
    const kept = new Set(objects.map(objectKey));
    for (const leftover of await leftovers(client, objects, options.namespace, changes)) {
        const ref = identity_refOf(leftover);
        if (kept.has(refKey(ref)))
            continue;
        try {
            // Bound to the object just listed: one made again since is not this one to delete.
            if (!dryRun)
                await client.delete(ref, leftover.metadata.uid);
        }
        catch (error) {
            throw apply_failure(client, error, 'delete', ref, changes);
        }
        changes.push({ ref, action: 'pruned' });
        options.log.info(`${identity_describeRef(ref)} pruned${dryRun ? ' (dry run)' : ''}`);
    }
    return changes;
}
/** Applies one object (or dry-runs it) and says what that did, by its content before and after. */
async function applyOne(client, object, dryRun) {
    const before = await client.get(identity_refOf(object));
    // A dry run of an object in a namespace the install has not made yet would fail: it is new anyway.
    if (!before && dryRun)
        return 'created';
    const after = await client.apply(object, {
        fieldManager: INSTALL_FIELD_MANAGER,
        force: true,
        dryRun,
    });
    if (!before)
        return 'created';
    // Content, not resourceVersion: a controller writing status in between is no change of the install's.
    return comparable(after) === comparable(before) ? 'unchanged' : 'configured';
}
/**
 * What carries this install's label, in prune order (the Deployment first). Never a Namespace: deleting
 * one deletes everything in it, and the install's own is always in the set.
 */
async function leftovers(client, objects, namespace, changes) {
    const kinds = new Map();
    for (const [apiVersion, kind] of [
        ...INSTALL_KINDS,
        ...objects.map((o) => [o.apiVersion, o.kind]),
    ])
        if (kind !== 'Namespace')
            kinds.set(`${apiVersion}/${kind}`, [apiVersion, kind]);
    const found = [];
    for (const [apiVersion, kind] of kinds.values()) {
        let where;
        try {
            // Every namespaced object of an install is in its namespace: no need to read any other.
            where = (await client.isNamespaced(apiVersion, kind)) ? namespace : undefined;
            const listed = await client.list(apiVersion, kind, {
                namespace: where,
                labelSelector: `${INSTALL_LABEL}=${namespace}`,
            });
            // The server filtered by the label; checked again here, as nothing unlabelled may ever go.
            found.push(...listed.filter((o) => isInstalledBy(o, namespace)));
        }
        catch (error) {
            // A kind this cluster does not serve holds nothing of ours.
            if (error instanceof errors_KubeError && error.code === 404)
                continue;
            const ref = { apiVersion, kind, name: '', ...(where ? { namespace: where } : {}) };
            throw apply_failure(client, error, 'list', ref, changes);
        }
    }
    return inApplyOrder(found).reverse();
}
/** `clusterroles` of `ClusterRole`: the resource RBAC rules name. */
function resourceOf(kind) {
    const lower = kind.toLowerCase();
    if (/[^aeiou]y$/.test(lower))
        return `${lower.slice(0, -1)}ies`;
    return /(s|x|ch|sh)$/.test(lower) ? `${lower}es` : `${lower}s`;
}
/** The error an install stops with: what failed, on which object, and what to fix. */
function apply_failure(client, error, operation, ref, changes) {
    const what = operation === 'list'
        ? `list ${ref.kind} objects (to find what an earlier install left)`
        : `${operation} ${identity_describeRef(ref)}`;
    const done = changes.length > 0 ? ` (${changes.length} objects done before it)` : '';
    const rerun = `nothing after it was attempted${done}: run again once fixed`;
    const message = error instanceof Error ? error.message : String(error);
    const stop = (text) => new InstallApplyError(`install: ${text}`, [...changes], { cause: error });
    if (!(error instanceof errors_KubeError) || ![0, 401, 403].includes(error.code))
        return stop(`cannot ${what}: ${message}; ${rerun}`);
    if (error.code === 0)
        return stop(`cannot ${what}: ${message}. Check the kubeconfig (its server and credentials) and that this runner can reach ${client.server}; ${rerun}`);
    if (error.code === 401)
        return stop(`cannot ${what}: the API server at ${client.server} does not accept the kubeconfig's credentials: ${message}; ${rerun}`);
    const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
    const verbs = { apply: 'get, create and patch', list: 'list', delete: 'delete' }[operation];
    const scope = ref.namespace ? `in the namespace ${ref.namespace}` : 'cluster-wide';
    const grants = ref.kind === 'ClusterRole' || ref.kind === 'Role'
        ? ' Granting the agent its rights also takes holding every right the role grants (the ClusterRole grants all), or the verb escalate on it.'
        : ref.kind.endsWith('RoleBinding')
            ? ' Binding the agent to its role also takes holding every right the role grants, or the verb bind on it.'
            : '';
    return stop(`may not ${what}: the kubeconfig's user lacks the right to ${verbs} ${resourceOf(ref.kind)} (API group "${group}") ${scope}.${grants} Grant it to the identity this job uses (installing the agent takes cluster-admin); ${rerun}. The API server said: ${message}`);
}

// EXTERNAL MODULE: external "node:url"
var external_node_url_ = __nccwpck_require__(3136);
// EXTERNAL MODULE: ./node_modules/yaml/dist/index.js
var dist = __nccwpck_require__(8815);
;// CONCATENATED MODULE: ./src/lib/manifests/yaml.ts
/**
 * The one loader and serializer for Kubernetes manifests.
 *
 * kubectl reads YAML with go-yaml v2 (YAML 1.1): `0644` is the octal 420 and `yes`/`on`/`y` are booleans.
 * Reading goes through js-yaml with a schema of go-yaml v2's own rules for plain scalars (`resolve.go`),
 * checked by test against kubectl itself: js-yaml reads thousands of manifests about ten times as fast as
 * the `yaml` package (`npm run bench:deps`, docs/decisions.md), which stays for writing (it quotes every
 * string a YAML 1.1 reader could misread):
 * - `~`, `null`, `Null`, `NULL` and nothing are null; `y`, `yes`, `on`, `true` (and `n`, `no`, `off`,
 *   `false`) in three casings are booleans;
 * - integers as Go's `ParseInt(s, 0, 64)` reads them once `_` is dropped: `0644` and `0o17` octal, `0x1F`,
 *   `0b101`, a sign; floats only in YAML's own form (`1e3`, `.5`, `1_000.5`);
 * - timestamps and sexagesimal numbers (`1:20`) stay strings; duplicate keys: the last one wins;
 * - a tag (`!foo bar`, `!!set`) is read as if it were not there, `!!binary` is decoded; `.inf` and `.nan`
 *   are refused, as kubectl refuses them (JSON cannot hold them).
 * Known differences, rare in manifests: a key set before a `<<` merge keeps its value (go-yaml lets the
 * merge overwrite it); integers beyond 2^53 lose precision, as any JavaScript number does; float keys
 * are written as JavaScript writes numbers.
 */



/** The largest manifest text read by default (`LoadLimits.maxBytes`). */
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'true', 'True', 'TRUE']);
const FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF', 'false', 'False', 'FALSE']);
const SPECIAL_FLOATS = new Map([
    ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((s) => [s, Infinity]),
    ...['-.inf', '-.Inf', '-.INF'].map((s) => [s, -Infinity]),
    ...['.nan', '.NaN', '.NAN'].map((s) => [s, NaN]),
]);
/** go-yaml v2's `yamlStyleFloat`. */
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** What Go's `ParseInt(s, 0, 64)` and `ParseUint` accept: a sign, then a base prefix or a leading 0. */
const GO_INT = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
/** A plain scalar as an integer, the way go-yaml v2 resolves it; undefined when it is not one. */
function goInt(plain) {
    const first = plain.charCodeAt(0);
    // Only scalars starting with a digit or a sign are numbers to go-yaml.
    if (!((first >= 48 && first <= 57) || first === 43 || first === 45))
        return undefined;
    const m = GO_INT.exec(plain.replace(/_/g, ''));
    if (!m)
        return undefined;
    const [, sign, digits] = m;
    const prefix = digits.slice(0, 2).toLowerCase();
    const magnitude = ['0x', '0o', '0b'].includes(prefix)
        ? BigInt(`0${prefix[1]}${digits.slice(2)}`)
        : digits.length > 1 && digits.startsWith('0')
            ? BigInt(`0o${digits.slice(1)}`)
            : BigInt(digits);
    const value = sign === '-' ? -magnitude : magnitude;
    // Within ParseInt's range, or ParseUint's without a sign; beyond them it is no int to go-yaml (a
    // long hex string stays a string; a long decimal one may still be a float).
    if (!((value >= INT64_MIN && value <= INT64_MAX) || (sign === '' && value <= UINT64_MAX)))
        return undefined;
    return Number(value);
}
/** A plain scalar as a float, the way go-yaml v2 resolves it (after `goInt`); undefined otherwise. */
function goFloat(plain) {
    const special = SPECIAL_FLOATS.get(plain);
    if (special !== undefined)
        return special;
    const first = plain.charCodeAt(0);
    if (!((first >= 48 && first <= 57) || first === 43 || first === 45 || first === 46))
        return undefined;
    const bare = plain.replace(/_/g, '');
    if (!YAML_FLOAT.test(bare))
        return undefined;
    const value = Number(bare);
    // Out of a float64's range, Go's ParseFloat fails: the text stays a string.
    return Number.isFinite(value) ? value : undefined;
}
/** go-yaml v2's reading of plain scalars, and local tags passed through as kubectl does. */
const KUBECTL_SCHEMA = FAILSAFE_SCHEMA.extend({
    implicit: [
        new Type('tag:yaml.org,2002:null', {
            kind: 'scalar',
            resolve: (s) => s === null || NULLS.has(s),
            construct: () => null,
        }),
        new Type('tag:yaml.org,2002:bool', {
            kind: 'scalar',
            resolve: (s) => s !== null && (TRUE.has(s) || FALSE.has(s)),
            construct: (s) => TRUE.has(s),
        }),
        new Type('tag:yaml.org,2002:int', {
            kind: 'scalar',
            resolve: (s) => s !== null && goInt(s) !== undefined,
            construct: (s) => goInt(s),
        }),
        new Type('tag:yaml.org,2002:float', {
            kind: 'scalar',
            // An int is a float too when tagged so (`!!float 0x10`); untagged, the int type comes first.
            resolve: (s) => s !== null && (goFloat(s) ?? goInt(s)) !== undefined,
            construct: (s) => goFloat(s) ?? goInt(s),
        }),
        // `<<: *base` merges a mapping in (the loader acts on keys of this tag).
        new Type('tag:yaml.org,2002:merge', { kind: 'scalar', resolve: (s) => s === '<<' }),
    ],
    explicit: [
        // `!!binary` is decoded to its text, as kubectl does.
        new Type('tag:yaml.org,2002:binary', {
            kind: 'scalar',
            resolve: (s) => s !== null && /^[A-Za-z0-9+/=\s]*$/.test(s),
            construct: (s) => Buffer.from(s.replace(/\s/g, ''), 'base64').toString('utf8'),
        }),
        // Any other tag, local (`!foo`) or not (`!!set`, `!!timestamp`), is read as if it were not there.
        ...['!', 'tag:'].flatMap((prefix) => ['scalar', 'sequence', 'mapping'].map((kind) => new Type(prefix, {
            kind,
            multi: true,
            construct: (data) => (kind === 'scalar' ? (data ?? '') : data),
        }))),
    ],
});
/** `0o17`, which go-yaml v2 reads as an octal int: written quoted when it is a string. */
const octalO = {
    tag: 'tag:yaml.org,2002:int',
    format: 'OCT',
    default: true,
    test: /^[-+]?0o[0-7_]+$/,
    resolve: (str) => {
        const sign = str.startsWith('-') ? -1 : 1;
        return sign * parseInt(str.replace(/^[-+]?0o/, '').replace(/_/g, ''), 8);
    },
};
/** When writing, every string that any YAML 1.1 reader could take for something else is quoted. */
const writeTags = (tags) => [octalO, ...tags];
const utf8 = new TextDecoder('utf-8', { fatal: true });
/**
 * A manifest file's bytes as text, refusing what is not UTF-8 as kubectl does (a lenient decoder would
 * apply U+FFFD in place of each bad byte). The error names the file, never its content.
 */
function decodeUtf8(bytes, file) {
    try {
        return utf8.decode(bytes);
    }
    catch {
        throw new errors_ConfigurationError(`${file} is not valid UTF-8: manifests must be UTF-8 text (re-save the file as UTF-8)`);
    }
}
/**
 * Parses every document of a manifest text. Empty documents are skipped; a `kind: List` (or any
 * `...List` kind with `items`) is expanded into its items, as kubectl does. Anything that is not a
 * mapping is refused, naming the source and line.
 */
function parseManifestText(text, sourceName, limits = {}) {
    const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
    if (Buffer.byteLength(text) > maxBytes) {
        throw new errors_ConfigurationError(`${sourceName}: larger than the limit of ${maxBytes} bytes`);
    }
    const maxValues = limits.maxValues ?? text.length + 10_000;
    let docs;
    try {
        // json: a key given twice keeps its last value, as kubectl does.
        // maxDepth and maxTotalMergeKeys are js-yaml 4.3's, newer than its published types.
        const options = {
            schema: KUBECTL_SCHEMA,
            json: true,
            filename: sourceName,
            // kubectl nests up to 10,000 deep; a CRD's schema may need more than js-yaml's default 100.
            maxDepth: 1000,
            maxTotalMergeKeys: maxValues,
        };
        docs = loadAll(text, undefined, options);
    }
    catch (e) {
        const reason = e instanceof YAMLException ? e.reason : String(e);
        const mark = e instanceof YAMLException ? e.mark : undefined;
        const where = mark ? ` at line ${mark.line + 1}, column ${mark.column + 1}` : '';
        throw new errors_ConfigurationError(`${sourceName}: invalid YAML: ${reason}${where}`);
    }
    const many = docs.length > 1;
    const out = [];
    docs.forEach((value, index) => {
        const source = many ? `${sourceName} (document ${index + 1})` : sourceName;
        if (value === null || value === undefined)
            return;
        if (typeof value !== 'object' || Array.isArray(value)) {
            throw new errors_ConfigurationError(`${source}: a manifest must be a mapping, found ${describe(value)}`);
        }
        checkJsonable(value, source, { left: maxValues, max: maxValues });
        const record = value;
        if (typeof record.kind === 'string' &&
            record.kind.endsWith('List') &&
            Array.isArray(record.items)) {
            record.items.forEach((item, i) => {
                if (item === null || typeof item !== 'object' || Array.isArray(item)) {
                    throw new errors_ConfigurationError(`${source}: item ${i + 1} of the ${String(record.kind)} is not a mapping`);
                }
                out.push({ source: `${source} item ${i + 1}`, value: item });
            });
            return;
        }
        out.push({ source, value: record });
    });
    return out;
}
function describe(value) {
    if (Array.isArray(value))
        return 'a list';
    return `a ${typeof value} (${JSON.stringify(value)?.slice(0, 40)})`;
}
/**
 * Refuses what JSON (and so the Kubernetes API) cannot hold, as kubectl does, and a document whose
 * aliases expand it beyond `budget` values.
 */
function checkJsonable(value, source, budget) {
    const bad = unjsonable(value, budget);
    if (bad === 'too-big') {
        throw new errors_ConfigurationError(`${source}: expands to more than ${budget.max} values through its aliases (a YAML bomb?)`);
    }
    if (bad) {
        throw new errors_ConfigurationError(`${source}: ${bad.path.join('.') || 'value'} is ${bad.value}, which JSON cannot hold (quote it if it is a string)`);
    }
}
/** The first number JSON cannot hold, with its path (built only when one is found). */
function unjsonable(value, budget) {
    if (--budget.left < 0)
        return 'too-big';
    if (typeof value === 'number')
        return Number.isFinite(value) ? undefined : { path: [], value };
    if (value === null || typeof value !== 'object')
        return undefined;
    const entries = Array.isArray(value)
        ? value.map((v, i) => [String(i), v])
        : Object.entries(value);
    for (const [key, v] of entries) {
        const bad = unjsonable(v, budget);
        if (bad === 'too-big')
            return bad;
        if (bad)
            return { path: [key, ...bad.path], value: bad.value };
    }
    return undefined;
}
/**
 * The stable YAML form of one object: keys sorted, no line folding, and every string that a YAML 1.1
 * reader could mistake for a number, boolean or time quoted.
 */
function toYaml(value) {
    const doc = new dist/* Document */.yo(value, { version: '1.1', customTags: writeTags, sortMapEntries: true });
    return doc.toString({ lineWidth: 0, minContentWidth: 0, indentSeq: true });
}

;// CONCATENATED MODULE: ./src/lib/kustomize/kustomize.ts
/**
 * Finding the kustomize to run, asking its version, and building a kustomization, with image and
 * namespace overrides applied through a temporary overlay so that the user's files are never touched.
 */






/** Looks a program up on PATH. */
function which(program, path = process.env.PATH ?? '') {
    for (const dir of path.split(external_node_path_namespaceObject.delimiter)) {
        if (!dir)
            continue;
        const candidate = (0,external_node_path_namespaceObject.join)(dir, program);
        try {
            if ((0,external_node_fs_namespaceObject.statSync)(candidate).isFile())
                return candidate;
        }
        catch {
            // not here
        }
    }
    return undefined;
}
/**
 * The kustomize to use: the `kustomize` input (a path to a kustomize or kubectl binary, or the word
 * `kubectl`), else `GITOPS_KUSTOMIZE`, else a standalone `kustomize` on PATH, else `kubectl kustomize`.
 */
function resolveKustomize(choice, env = process.env) {
    const wanted = choice ?? env.GITOPS_KUSTOMIZE;
    if (wanted) {
        if (wanted === 'kubectl' || wanted === 'kustomize') {
            const found = which(wanted, env.PATH);
            if (!found)
                throw new errors_ConfigurationError(`kustomize: '${wanted}' is not on PATH`);
            return forBinary(found);
        }
        const path = (0,external_node_path_namespaceObject.resolve)(wanted);
        if (!(0,external_node_fs_namespaceObject.existsSync)(path)) {
            throw new errors_ConfigurationError(`kustomize: ${wanted} does not exist (give a path, or 'kubectl')`);
        }
        return forBinary(path);
    }
    const standalone = which('kustomize', env.PATH);
    if (standalone)
        return forBinary(standalone);
    const kubectl = which('kubectl', env.PATH);
    if (kubectl)
        return forBinary(kubectl);
    throw new errors_ConfigurationError('kustomize: neither kustomize nor kubectl is on PATH; install one or set the kustomize input');
}
function forBinary(path) {
    const isKubectl = /kubectl[^/]*$/.test(path);
    return isKubectl
        ? { program: path, subcommand: ['kustomize'], label: `kubectl kustomize (${path})` }
        : { program: path, subcommand: ['build'], label: `kustomize (${path})` };
}
/** The kustomize version (`v5.5.0`), as the binary reports it. */
async function kustomizeVersion(k) {
    if (k.subcommand[0] === 'kustomize') {
        const r = await run_runCommand(k.program, ['version', '--client', '-o', 'json'], {
            timeoutMs: VERSION_TIMEOUT_MS,
            label: `${k.label} version`,
        });
        if (r.code === 0) {
            const v = JSON.parse(r.stdout).kustomizeVersion;
            if (v)
                return v;
        }
        throw new errors_ConfigurationError(`kustomize: ${k.label} did not report a kustomize version: ${r.stderr.trim()}`);
    }
    const r = await run_runCommand(k.program, ['version'], {
        timeoutMs: VERSION_TIMEOUT_MS,
        label: `${k.label} version`,
    });
    const match = /v\d+\.\d+\.\d+[^\s]*/.exec(r.stdout);
    if (r.code !== 0 || !match) {
        throw new errors_ConfigurationError(`kustomize: ${k.label} did not report its version: ${r.stderr.trim()}`);
    }
    return match[0];
}
const IMAGE_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+|__)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/i;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
/**
 * Parses `name=newName:tag`, `name=newName@sha256:…`, `name:tag`, `name@sha256:…` or `name=newName`
 * (the forms of `kustomize edit set image`).
 */
function parseImageOverride(spec) {
    const fail = (why) => {
        throw new errors_ConfigurationError(`images: '${spec}' is not a valid image override (${why}); use name:tag, name@sha256:<digest> or name=newName:tag`);
    };
    const trimmed = spec.trim();
    const eq = trimmed.indexOf('=');
    const name = eq >= 0 ? trimmed.slice(0, eq) : undefined;
    const ref = eq >= 0 ? trimmed.slice(eq + 1) : trimmed;
    let image = ref;
    let tag;
    let digest;
    const at = ref.indexOf('@');
    if (at >= 0) {
        image = ref.slice(0, at);
        digest = ref.slice(at + 1);
        if (!DIGEST.test(digest))
            fail('the digest must be sha256: and 64 hex digits');
    }
    else {
        const colon = ref.lastIndexOf(':');
        if (colon > ref.lastIndexOf('/')) {
            image = ref.slice(0, colon);
            tag = ref.slice(colon + 1);
            if (!TAG.test(tag))
                fail(`'${tag}' is not a valid tag`);
        }
    }
    if (name !== undefined && !IMAGE_NAME.test(name))
        fail(`'${name}' is not an image name`);
    if (!IMAGE_NAME.test(image))
        fail(`'${image}' is not an image name`);
    if (name === undefined) {
        if (!tag && !digest)
            fail('give a tag or a digest');
        return { name: image, ...(tag ? { newTag: tag } : {}), ...(digest ? { digest } : {}) };
    }
    return {
        name,
        ...(image !== name ? { newName: image } : {}),
        ...(tag ? { newTag: tag } : {}),
        ...(digest ? { digest } : {}),
    };
}
/** How long a build may run by default, and how much memory it may hold (a build is seconds, MiBs). */
const DEFAULT_BUILD_TIMEOUT_MS = 120_000;
const DEFAULT_BUILD_MEMORY_MB = 2048;
/** `kustomize version` answers at once; a binary that does not is not a kustomize to use. */
const VERSION_TIMEOUT_MS = 30_000;
/**
 * Runs kustomize on `dir` and returns its YAML output. With images, a namespace, labels or patches, a
 * temporary overlay (outside the user's tree) names `dir` as its only resource and sets them; it is
 * removed afterwards.
 */
async function kustomizeBuild(k, dir, options, log) {
    const target = (0,external_node_path_namespaceObject.resolve)(dir);
    if (!(0,external_node_fs_namespaceObject.existsSync)(target) || !(0,external_node_fs_namespaceObject.statSync)(target).isDirectory()) {
        throw new errors_ConfigurationError(`path: ${dir} is not a folder`);
    }
    if (!['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((f) => (0,external_node_fs_namespaceObject.existsSync)((0,external_node_path_namespaceObject.join)(target, f)))) {
        throw new errors_ConfigurationError(`path: ${dir} has no kustomization.yaml`);
    }
    const images = options.images ?? [];
    const labels = options.labels ?? [];
    const patches = options.patches ?? [];
    let overlay;
    let buildDir = target;
    if (images.length > 0 || options.namespace || labels.length > 0 || patches.length > 0) {
        overlay = await external_node_fs_namespaceObject.promises.mkdtemp((0,external_node_path_namespaceObject.join)((0,external_node_os_namespaceObject.tmpdir)(), 'gitops-overlay-'));
        const kustomization = {
            apiVersion: 'kustomize.config.k8s.io/v1beta1',
            kind: 'Kustomization',
            // kustomize refuses absolute paths here; a relative one reaches any folder on the machine.
            resources: [(0,external_node_path_namespaceObject.relative)(overlay, target)],
        };
        if (options.namespace)
            kustomization.namespace = options.namespace;
        if (images.length > 0)
            kustomization.images = images;
        if (labels.length > 0)
            kustomization.labels = labels;
        if (patches.length > 0)
            kustomization.patches = patches;
        await external_node_fs_namespaceObject.promises.writeFile((0,external_node_path_namespaceObject.join)(overlay, 'kustomization.yaml'), toYaml(kustomization));
        log.debug(`kustomize overlay ${overlay}:\n${toYaml(kustomization)}`);
        buildDir = overlay;
    }
    try {
        const args = [...k.subcommand, buildDir, ...(options.flags ?? [])];
        log.info(`Running ${k.label} on ${dir}`);
        const r = await runBuild(k, args, dir, options);
        if (r.code !== 0) {
            const message = r.stderr.trim().replaceAll(overlay ?? '\0', '<overlay>');
            throw new errors_ConfigurationError(`kustomize failed on ${dir}:\n${message}`);
        }
        return r.stdout;
    }
    finally {
        if (overlay)
            await external_node_fs_namespaceObject.promises.rm(overlay, { recursive: true, force: true });
    }
}
/** Runs the build within its limits; passing one is the user's to fix (a ConfigurationError). */
async function runBuild(k, args, dir, options) {
    try {
        return await run_runCommand(k.program, args, {
            timeoutMs: options.timeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS,
            memoryLimitMB: options.memoryLimitMB ?? DEFAULT_BUILD_MEMORY_MB,
            maxOutputBytes: options.maxOutputBytes,
            signal: options.signal,
            label: `kustomize build ${dir}`,
            timeoutSetting: 'kustomize-timeout',
            memorySetting: 'kustomize-memory-limit',
        });
    }
    catch (error) {
        // A stop is not the user's doing: it goes on as it is, for the caller to tell apart.
        if (error instanceof ProcessLimitError && error.reason === 'output') {
            throw new errors_ConfigurationError(`${error.message}: more YAML than is read from one build; make the kustomization smaller or split it into several`, { cause: error });
        }
        if (error instanceof ProcessLimitError && error.reason !== 'stopped') {
            throw new errors_ConfigurationError(error.message, { cause: error });
        }
        throw error;
    }
}

;// CONCATENATED MODULE: ./src/lib/manifests/folder.ts
/**
 * The per-object folder form (`<kind>-<name>.yaml`, one object a file) and the single-file form, written
 * atomically, and read back.
 */






const MANIFEST_FILE = /\.ya?ml$/i;
/**
 * File names for objects: `<kind>-<name>.yaml`, lower case; the namespace is added to the objects whose
 * plain names would collide, and characters unsafe in file names become `_`.
 */
function fileNamesFor(objects) {
    const safe = (s) => s.toLowerCase().replace(/[^a-z0-9._-]/g, '_');
    const plain = objects.map((o) => `${safe(o.kind)}-${safe(o.metadata.name)}`);
    const count = (names) => {
        const m = new Map();
        for (const n of names)
            m.set(n, (m.get(n) ?? 0) + 1);
        return m;
    };
    const plainCount = count(plain);
    const withNs = objects.map((o, i) => plainCount.get(plain[i]) === 1
        ? plain[i]
        : `${safe(o.kind)}-${safe(o.metadata.namespace ?? '_cluster')}-${safe(o.metadata.name)}`);
    // Last resort (kinds of different groups with one name): a short hash of the apiVersion.
    const nsCount = count(withNs);
    return withNs.map((n, i) => {
        if (nsCount.get(n) === 1)
            return `${n}.yaml`;
        const tag = (0,external_node_crypto_.createHash)('sha256').update(objects[i].apiVersion).digest('hex').slice(0, 8);
        return `${n}-${tag}.yaml`;
    });
}
/** Sorts and serializes objects once, for both the folder and the single-file form. */
function serializeManifests(objects) {
    const sorted = sortObjects(objects.map((object) => ({ object }))).map((x) => x.object);
    const names = fileNamesFor(sorted);
    return sorted.map((object, i) => ({ file: names[i], object, yaml: toYaml(object) }));
}
/**
 * Replaces `dir` with one file per object. The folder is written beside the target and renamed into
 * place, so a failure leaves the old folder (or nothing) behind, never a mix. An existing folder is
 * replaced only if it holds nothing but manifest files (an earlier render).
 */
async function writeManifestFolder(dir, manifests) {
    await checkReplaceableFolder(dir);
    await external_node_fs_namespaceObject.promises.mkdir((0,external_node_path_namespaceObject.dirname)(dir), { recursive: true });
    const tmp = await external_node_fs_namespaceObject.promises.mkdtemp((0,external_node_path_namespaceObject.join)((0,external_node_path_namespaceObject.dirname)(dir), `.${(0,external_node_path_namespaceObject.basename)(dir)}.tmp-`));
    try {
        await Promise.all(manifests.map((m) => external_node_fs_namespaceObject.promises.writeFile((0,external_node_path_namespaceObject.join)(tmp, m.file), m.yaml)));
        await external_node_fs_namespaceObject.promises.rm(dir, { recursive: true, force: true });
        await external_node_fs_namespaceObject.promises.rename(tmp, dir);
    }
    catch (e) {
        await external_node_fs_namespaceObject.promises.rm(tmp, { recursive: true, force: true });
        throw e;
    }
}
/** The single-file form: every object as one multi-document text. */
function manifestStream(manifests) {
    return manifests.map((m) => `---\n${m.yaml}`).join('');
}
/** Writes a file atomically (a temp file renamed into place). */
async function writeFileAtomic(file, text) {
    await external_node_fs_namespaceObject.promises.mkdir((0,external_node_path_namespaceObject.dirname)(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    await external_node_fs_namespaceObject.promises.writeFile(tmp, text);
    await external_node_fs_namespaceObject.promises.rename(tmp, file);
}
/** Refuses an output folder that is a file, or holds anything but manifests (it is replaced wholly). */
async function checkReplaceableFolder(dir) {
    if (!(0,external_node_fs_namespaceObject.existsSync)(dir))
        return;
    const stat = await external_node_fs_namespaceObject.promises.stat(dir);
    if (!stat.isDirectory()) {
        throw new errors_ConfigurationError(`output-dir ${dir} exists and is not a folder`);
    }
    const entries = await external_node_fs_namespaceObject.promises.readdir(dir, { withFileTypes: true });
    const foreign = entries.filter((e) => !(e.isFile() && MANIFEST_FILE.test(e.name)));
    if (foreign.length > 0) {
        throw new errors_ConfigurationError(`output-dir ${dir} holds other things than manifests (${foreign
            .slice(0, 3)
            .map((e) => e.name)
            .join(', ')}); the folder is replaced wholly, so point output-dir at a new or empty folder`);
    }
}
/**
 * Refuses an output file that render did not write: it is replaced wholly, so an existing one must be a
 * regular file (not a symlink, which may lead anywhere, nor a folder) holding only Kubernetes objects.
 * An empty file is fine. Its content is never quoted.
 */
async function checkReplaceableFile(file) {
    let stat;
    try {
        stat = await external_node_fs_namespaceObject.promises.lstat(file);
    }
    catch (error) {
        if (error.code === 'ENOENT')
            return;
        throw error;
    }
    const elsewhere = 'point output-file elsewhere (it is replaced wholly)';
    if (stat.isSymbolicLink()) {
        throw new errors_ConfigurationError(`output-file ${file} is a symlink; ${elsewhere}`);
    }
    if (stat.isDirectory())
        throw new errors_ConfigurationError(`output-file ${file} is a folder; ${elsewhere}`);
    if (!stat.isFile() || !(await isManifestStream(file))) {
        throw new errors_ConfigurationError(`output-file ${file} exists and is not a manifest file render wrote; ${elsewhere}`);
    }
}
/** True when the file parses as YAML documents that are all Kubernetes objects (or none). */
async function isManifestStream(file) {
    try {
        const docs = parseManifestText(await external_node_fs_namespaceObject.promises.readFile(file, 'utf8'), file);
        return docs.every(({ value }) => typeof value.apiVersion === 'string' &&
            typeof value.kind === 'string' &&
            typeof value.metadata?.name === 'string');
    }
    catch {
        return false;
    }
}
/** True when `inner` is `outer` or lies inside it. */
function isInside(inner, outer) {
    const rel = (0,external_node_path_namespaceObject.relative)((0,external_node_path_namespaceObject.resolve)(outer), (0,external_node_path_namespaceObject.resolve)(inner));
    return rel === '' || (!rel.startsWith('..') && !rel.startsWith('/'));
}
/**
 * Reads every `*.yaml`/`*.yml` file of a folder (not recursive), sorted by name. Subfolders and other
 * files are refused: a manifests folder holds manifests only.
 */
async function readManifestFolder(dir, options = {}) {
    let entries;
    try {
        entries = await external_node_fs_namespaceObject.promises.readdir(dir, { withFileTypes: true });
    }
    catch {
        throw new errors_ConfigurationError(`manifests folder ${dir} does not exist or cannot be read`);
    }
    const docs = [];
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (entry.name.startsWith('.') || options.skip?.includes(entry.name))
            continue;
        if (!entry.isFile() || !MANIFEST_FILE.test(entry.name)) {
            throw new errors_ConfigurationError(`${(0,external_node_path_namespaceObject.join)(dir, entry.name)}: a manifests folder holds only *.yaml files, one object each`);
        }
        const file = (0,external_node_path_namespaceObject.join)(dir, entry.name);
        const text = decodeUtf8(await external_node_fs_namespaceObject.promises.readFile(file), file);
        docs.push(...parseManifestText(text, file));
    }
    return docs;
}

;// CONCATENATED MODULE: ./src/lib/install/manifests.ts
/**
 * The objects install-agent applies, from one source: deploy/base, rendered by kustomize through an
 * overlay written from typed options (namespace, image, the agent's flags, resources, labels), so that
 * `kubectl apply -k deploy/` and install-agent can never drift. The Secrets are built in memory
 * (secrets.ts) and never written to the overlay folder or to `output-dir`.
 */











const DEFAULT_NAMESPACE = 'gitops-system';
/** The agent's Deployment and container in deploy/base. */
const AGENT_DEPLOYMENT = 'gitops-agent';
const AGENT_CONTAINER = 'agent';
/** The agent flags an install sets: the base's values of these are replaced, its others kept. */
const OWNED_FLAGS = [
    'git-url',
    'git-branch',
    'git-path',
    'git-poll-interval',
    'sync-interval',
    'sync-garbage-collection',
    'cluster-name',
    'manifest-generation',
    'notify',
    'status-token',
    'status-provider',
    'status-api-url',
];
/**
 * deploy/base of this product: in the source tree (`src/lib/install/` → `../../../deploy/base`), beside
 * a bundle (`dist/<name>/index.js` → `../../deploy/base`), or one level up from it (a bundle copied to
 * `<dir>/<name>/index.js` with `<dir>/deploy/`, as in the image). Only those three places are looked at:
 * anything higher would be the user's own tree.
 */
function deployBaseDir() {
    const here = (0,external_node_path_namespaceObject.dirname)((0,external_node_url_.fileURLToPath)(import.meta.url));
    const tried = [];
    let dir = here;
    for (let up = 1; up <= 3; up++) {
        dir = (0,external_node_path_namespaceObject.dirname)(dir);
        const candidate = (0,external_node_path_namespaceObject.join)(dir, 'deploy', 'base');
        if ((0,external_node_fs_namespaceObject.existsSync)((0,external_node_path_namespaceObject.join)(candidate, 'kustomization.yaml')))
            return candidate;
        tried.push(candidate);
    }
    throw new Error(`install: deploy/base (the agent's manifests) is missing: looked in ${tried.join(', ')}; it ships beside dist/ in this product's repository: run from a full copy of it (the action's checkout, or an image that copies deploy/ beside the bundles)`);
}
const DURATION = /^\d+(?:\.\d+)?(?:ms|s|m|h)?$/;
const manifests_DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const CLUSTER_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const QUANTITY = /^\d+(?:\.\d+)?(?:m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;
const PLAIN = /^[^\s,]+$/;
/** Checks the options (errors name the install's inputs); the namespace, defaulted. */
function checkOptions(options) {
    const fail = (message) => {
        throw new errors_ConfigurationError(message);
    };
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    if (!manifests_DNS_LABEL.test(namespace))
        fail(`namespace: '${namespace}' is not a namespace name`);
    try {
        parseImageOverride(`gitops-agent=${options.image}`);
    }
    catch {
        fail(`image: '${options.image}' is not an image reference (registry/name:tag or registry/name@sha256:<digest>)`);
    }
    if (transportOf(options.repository) !== 'ssh' || /\s/.test(options.repository)) {
        fail(`repository: '${options.repository}' is not an SSH URL (git@host:org/repo.git or ssh://git@host/org/repo.git): the agent reads the repository with the deploy key`);
    }
    if (options.branch !== undefined && !/^[^\s~^:?*[\\]+$/.test(options.branch))
        fail(`branch: '${options.branch}' is not a branch name`);
    for (const path of options.paths ?? [])
        if (!PLAIN.test(path))
            fail(`paths: '${path}' is not a folder of the repository`);
    for (const [input, value] of [
        ['poll-interval', options.pollInterval],
        ['sync-interval', options.syncInterval],
    ]) {
        if (value !== undefined && !DURATION.test(value))
            fail(`${input}: '${value}' is not a duration (e.g. 30s, 5m, 1h)`);
    }
    if (options.clusterName !== undefined && !CLUSTER_NAME.test(options.clusterName))
        fail(`cluster-name: must be letters, digits, '-', '_' or '.'`);
    if (options.statusApiUrl !== undefined && !/^https?:\/\/\S+$/.test(options.statusApiUrl))
        fail(`status-api-url: '${options.statusApiUrl}' is not an http(s) URL`);
    const resources = options.resources ?? {};
    for (const kind of ['requests', 'limits']) {
        for (const [name, value] of Object.entries(resources[kind] ?? {}))
            if (value !== undefined && !QUANTITY.test(value))
                fail(`resources: ${kind}.${name} '${value}' is not a quantity (e.g. 100m, 256Mi)`);
    }
    return namespace;
}
/** The agent's flags from the options, after the base's own flags the install does not set. */
function agentArgs(options, baseArgs) {
    const owned = (arg) => OWNED_FLAGS.some((f) => arg === `--${f}` || arg.startsWith(`--${f}=`));
    const fileFlag = (m) => `--${m.flag}=file:${m.mountPath}/${m.key}`;
    const args = [`--git-url=${options.repository}`];
    if (options.branch)
        args.push(`--git-branch=${options.branch}`);
    for (const path of options.paths ?? [])
        args.push(`--git-path=${path}`);
    if (options.pollInterval)
        args.push(`--git-poll-interval=${options.pollInterval}`);
    if (options.syncInterval)
        args.push(`--sync-interval=${options.syncInterval}`);
    if (options.prune)
        args.push('--sync-garbage-collection');
    if (options.manifestGeneration)
        args.push('--manifest-generation');
    if (options.clusterName)
        args.push(`--cluster-name=${options.clusterName}`);
    if (options.notify)
        args.push(fileFlag(NOTIFY_SECRET));
    if (options.statusToken)
        args.push(fileFlag(STATUS_TOKEN_SECRET));
    if (options.statusProvider)
        args.push(`--status-provider=${options.statusProvider}`);
    if (options.statusApiUrl)
        args.push(`--status-api-url=${options.statusApiUrl}`);
    return [...args, ...baseArgs.filter((a) => !owned(a))];
}
/** The agent's container in rendered objects (an error naming deploy/base when it is not there). */
function agentContainer(objects, baseDir) {
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === AGENT_DEPLOYMENT);
    const spec = deployment?.spec;
    const container = spec?.template?.spec?.containers?.find((c) => c.name === AGENT_CONTAINER);
    if (!container?.image)
        throw new Error(`install: ${baseDir} has no Deployment ${AGENT_DEPLOYMENT} with a container ${AGENT_CONTAINER}`);
    return container;
}
/** The overlay on deploy/base: the namespace, image, labels and a patch of the agent's container. */
function overlayOf(options, namespace, base) {
    // The base's image name, without its tag or digest: what kustomize's `images:` matches.
    const imageName = base.image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
    const mounts = [
        ...(options.notify ? [NOTIFY_SECRET] : []),
        ...(options.statusToken ? [STATUS_TOKEN_SECRET] : []),
    ];
    const container = {
        name: AGENT_CONTAINER,
        // A strategic merge patch replaces `args` as a whole; volumes and mounts merge by name.
        args: agentArgs(options, base.args),
    };
    if (options.resources)
        container.resources = options.resources;
    if (mounts.length > 0)
        container.volumeMounts = mounts.map((m) => ({
            name: m.volume,
            mountPath: m.mountPath,
            readOnly: true,
        }));
    const podSpec = { containers: [container] };
    if (mounts.length > 0)
        podSpec.volumes = mounts.map((m) => ({
            name: m.volume,
            // 0440 and the pod's fsGroup, as the base mounts the deploy key.
            secret: { secretName: m.secretName, defaultMode: 0o440 },
        }));
    const patch = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: AGENT_DEPLOYMENT },
        spec: { template: { spec: podSpec } },
    };
    return {
        // Renames the base's Namespace and moves every namespaced object and the RBAC subjects into it.
        namespace,
        images: [{ ...parseImageOverride(`${imageName}=${options.image}`), name: imageName }],
        // On objects only: pod templates and selectors stay as the base has them.
        labels: [{ pairs: installLabels(namespace), includeSelectors: false, includeTemplates: false }],
        patches: [{ patch: toYaml(patch), target: { kind: 'Deployment', name: AGENT_DEPLOYMENT } }],
    };
}
/** Parses and validates a build's output: no Secrets come from the base. */
function parseBuild(yaml, source) {
    const docs = parseManifestText(yaml, source);
    return validateManifests(docs).map((m) => m.object);
}
/**
 * Cluster-scoped objects are shared by every install on the cluster: outside the default namespace
 * they get the namespace in their name (`gitops-agent-<namespace>`), so a second agent never takes over
 * the first one's ClusterRole and binding. The default keeps the base's names, as `kubectl apply -k`.
 */
function ownClusterNames(objects, namespace) {
    if (namespace === DEFAULT_NAMESPACE)
        return objects;
    const renamed = (name) => `${name}-${namespace}`;
    return objects.map((o) => {
        if (o.kind === 'ClusterRole')
            return { ...o, metadata: { ...o.metadata, name: renamed(o.metadata.name) } };
        if (o.kind !== 'ClusterRoleBinding')
            return o;
        const roleRef = o.roleRef;
        return {
            ...o,
            metadata: { ...o.metadata, name: renamed(o.metadata.name) },
            roleRef: roleRef.kind === 'ClusterRole' ? { ...roleRef, name: renamed(roleRef.name) } : roleRef,
        };
    });
}
/**
 * deploy/base rendered for an install: every object in `namespace` (cluster-scoped ones labelled with
 * it), the flags and image in the agent's Deployment. No Secrets: see `agentObjects`.
 */
async function renderAgentManifests(options, context) {
    const namespace = checkOptions(options);
    const kustomize = context.kustomize ?? resolveKustomize(undefined);
    const baseDir = context.baseDir ?? deployBaseDir();
    // The base as it is, for the image name and the flags the install leaves alone (e.g. --listen).
    const base = parseBuild(await kustomizeBuild(kustomize, baseDir, {}, context.log), baseDir);
    const container = agentContainer(base, baseDir);
    const overlay = overlayOf(options, namespace, {
        image: container.image,
        args: container.args ?? [],
    });
    const objects = parseBuild(await kustomizeBuild(kustomize, baseDir, overlay, context.log), 'the install overlay of deploy/base');
    agentContainer(objects, baseDir);
    return ownClusterNames(objects, namespace);
}
/** Everything an install applies: the rendered base and its Secrets, all labelled as the install's. */
async function agentObjects(options, secrets, context) {
    const rendered = await renderAgentManifests({
        ...options,
        notify: secrets.notify !== undefined,
        statusToken: secrets.statusToken !== undefined,
    }, context);
    return [...rendered, ...agentSecrets(options.namespace ?? DEFAULT_NAMESPACE, secrets)];
}
/**
 * Writes the objects to `dir`, one file each (`<kind>-<name>.yaml`), Secrets without their values: the
 * private key never reaches a file. `dir` is replaced only if it holds nothing but manifests.
 */
async function writeManifests(dir, objects) {
    const manifests = serializeManifests(objects.map(withoutSecretData));
    await writeManifestFolder(dir, manifests);
    return manifests.map((m) => m.file);
}

;// CONCATENATED MODULE: ./src/lib/backoff.ts
class Backoff {
    options;
    failures = 0;
    constructor(options) {
        this.options = options;
    }
    /** The wait before the next attempt; each call counts one more failure. */
    next() {
        const { baseMs, capMs, jitter, random = Math.random } = this.options;
        const bound = Math.min(capMs, baseMs * 2 ** Math.min(this.failures++, 20));
        return jitter === 'full'
            ? Math.floor(random() * bound)
            : Math.round(bound * (0.5 + random() * 0.5));
    }
    /** After a success: the next failure waits the first bound again. */
    reset() {
        this.failures = 0;
    }
}

;// CONCATENATED MODULE: ./src/lib/kube/health.ts
/**
 * Health of what was rolled out, by the rules of kstatus (Flux's `ssa/manager_wait.go`): Deployments,
 * StatefulSets and DaemonSets roll out, Jobs finish. Other kinds are healthy once applied.
 */


const WAITED = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);
function needsWait(ref) {
    return WAITED.has(ref.kind);
}
/** The health of one live object. */
function healthOf(object) {
    const spec = (object.spec ?? {});
    const status = (object.status ?? {});
    const generation = object.metadata.generation ?? 0;
    const observed = status.observedGeneration ?? 0;
    const conditions = (status.conditions ?? []);
    const num = (v) => (typeof v === 'number' ? v : 0);
    switch (object.kind) {
        case 'Deployment': {
            const deadline = conditions.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
            if (deadline)
                return { state: 'failed', message: deadline.message ?? 'progress deadline exceeded' };
            if (observed < generation)
                return { state: 'progressing', message: 'the new generation is not observed yet' };
            const want = spec.replicas === undefined ? 1 : num(spec.replicas);
            if (num(status.updatedReplicas) < want)
                return {
                    state: 'progressing',
                    message: `${num(status.updatedReplicas)}/${want} replicas updated`,
                };
            if (num(status.availableReplicas) < want)
                return {
                    state: 'progressing',
                    message: `${num(status.availableReplicas)}/${want} replicas available`,
                };
            if (num(status.replicas) > want)
                return { state: 'progressing', message: 'old replicas are terminating' };
            return { state: 'healthy' };
        }
        case 'StatefulSet': {
            if (observed < generation)
                return { state: 'progressing', message: 'the new generation is not observed yet' };
            const want = spec.replicas === undefined ? 1 : num(spec.replicas);
            if (num(status.readyReplicas) < want)
                return {
                    state: 'progressing',
                    message: `${num(status.readyReplicas)}/${want} replicas ready`,
                };
            const strategy = spec.updateStrategy?.type ?? 'RollingUpdate';
            if (strategy === 'RollingUpdate' &&
                status.updateRevision &&
                status.currentRevision !== status.updateRevision) {
                return { state: 'progressing', message: 'the rolling update is in progress' };
            }
            return { state: 'healthy' };
        }
        case 'DaemonSet': {
            if (observed < generation)
                return { state: 'progressing', message: 'the new generation is not observed yet' };
            const want = num(status.desiredNumberScheduled);
            if (num(status.updatedNumberScheduled) < want)
                return {
                    state: 'progressing',
                    message: `${num(status.updatedNumberScheduled)}/${want} pods updated`,
                };
            if (num(status.numberAvailable) < want)
                return {
                    state: 'progressing',
                    message: `${num(status.numberAvailable)}/${want} pods available`,
                };
            return { state: 'healthy' };
        }
        case 'Job': {
            const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
            if (failed)
                return { state: 'failed', message: failed.message ?? failed.reason ?? 'the job failed' };
            if (conditions.some((c) => c.type === 'Complete' && c.status === 'True'))
                return { state: 'healthy' };
            return { state: 'progressing', message: 'the job has not finished' };
        }
        default:
            return { state: 'healthy' };
    }
}
/**
 * Polls the objects until all are healthy, one fails, or the timeout passes. The objects are read
 * together, within the caller's request budget.
 */
async function waitHealthy(client, refs, timeoutMs, options) {
    const pending = refs.filter(needsWait);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const healths = await Promise.all(pending.map((ref) => options.limiter.run(async () => {
            const live = await client.get(ref);
            return live ? healthOf(live) : { state: 'failed', message: 'not found' };
        })));
        const problems = [];
        let failed = false;
        healths.forEach((health, i) => {
            if (health.state === 'failed')
                failed = true;
            if (health.state !== 'healthy')
                problems.push(`${describeRef(pending[i])}: ${health.message}`);
        });
        if (problems.length === 0)
            return { healthy: true, failed: false, problems };
        if (failed || Date.now() >= deadline) {
            return {
                healthy: false,
                failed,
                problems: failed
                    ? problems
                    : problems.map((p) => `${p} (timed out after ${Math.round(timeoutMs / 1000)}s)`),
            };
        }
        await sleep(options.intervalMs ?? 500);
    }
}

;// CONCATENATED MODULE: ./src/lib/kube/inventory.ts


function inventoryName(unit) {
    return `gitops-unit-${unitHash(unit)}`;
}
function fromConfigMap(cm) {
    const data = (cm.data ?? {});
    return {
        unit: data.unit,
        commit: data.commit ?? '',
        digest: data.digest ?? '',
        lastApplied: data.lastApplied ?? '',
        objects: JSON.parse(data.objects ?? '[]'),
        resourceVersion: cm.metadata.resourceVersion,
    };
}
/** Every inventory of this agent, by unit path. */
async function listInventories(client, namespace, agent) {
    const items = await client.list('v1', 'ConfigMap', {
        namespace,
        labelSelector: `${labels_AGENT_LABEL}=${agent},${labels_DOMAIN}/inventory=true`,
    });
    const out = new Map();
    for (const cm of items) {
        const inv = fromConfigMap(cm);
        if (inv.unit)
            out.set(inv.unit, inv);
    }
    return out;
}
/**
 * Writes an inventory: created when new, else replaced with the resourceVersion it was read at, so two
 * writers can never silently overwrite each other (the second gets a 409).
 */
async function writeInventory(client, namespace, agent, inv) {
    const cm = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
            name: inventoryName(inv.unit),
            namespace,
            labels: {
                [AGENT_LABEL]: agent,
                [`${DOMAIN}/inventory`]: 'true',
                [UNIT_LABEL]: unitHash(inv.unit),
            },
            annotations: { [UNIT_ANNOTATION]: inv.unit },
            ...(inv.resourceVersion ? { resourceVersion: inv.resourceVersion } : {}),
        },
        data: {
            unit: inv.unit,
            commit: inv.commit,
            digest: inv.digest,
            lastApplied: inv.lastApplied,
            objects: JSON.stringify(inv.objects),
        },
    };
    const written = inv.resourceVersion ? await client.replace(cm) : await createOrReplace(client, cm);
    return { ...inv, resourceVersion: written.metadata.resourceVersion };
}
async function createOrReplace(client, cm) {
    try {
        return await client.create(cm);
    }
    catch (error) {
        if (error instanceof KubeError && error.code === 409) {
            throw new KubeError(`inventory ${cm.metadata.name} was created by someone else meanwhile; it is read again next cycle`, 409, 'Conflict');
        }
        throw error;
    }
}

;// CONCATENATED MODULE: ./src/lib/install/wait.ts
/**
 * install-agent's `wait`: the agent's Deployment rolled out, then the agent's own record in the cluster
 * shows a sync of the branch's head. That record is the per-unit inventory ConfigMaps (each carries the
 * commit the unit was last applied at): read through the API server, never a port-forward. A head that
 * changed none of the agent's units shows once they are applied again (every `--sync-interval`), or at
 * once by a Ready agent pod started after the head was read (`since`). When the time is up, the answer says why: the pods' waiting
 * reasons (ImagePullBackOff, CrashLoopBackOff…) or the agent's last SyncFailed Event.
 */







/** A container waiting for these is on its way, not stuck. */
const ON_ITS_WAY = new Set(['ContainerCreating', 'PodInitializing']);
/** The agent's Events name it as their source (src/agent/report/events.ts). */
const AGENT_COMPONENT = 'gitops-agent';
/** Waits until the agent has rolled out and recorded a sync of `commit`, or the time is up. */
async function waitForAgent(client, options) {
    const { namespace, timeoutMs, log } = options;
    const name = options.deployment ?? AGENT_DEPLOYMENT;
    const deadline = Date.now() + timeoutMs;
    const backoff = new Backoff({
        baseMs: Math.min(500, options.intervalMs ?? 5000),
        capMs: options.intervalMs ?? 5000,
        jitter: 'equal',
    });
    let said = '';
    let deployment;
    for (;;) {
        let look;
        try {
            deployment = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name });
            look = await lookAt(client, namespace, name, deployment, options);
        }
        catch (error) {
            // Without the right to read, waiting longer changes nothing.
            if (error instanceof errors_KubeError && (error.code === 401 || error.code === 403))
                return notReady(deployment, `cannot read the agent's state: ${errorMessage(error)}`);
            look = {
                state: 'waiting',
                why: `the API server failed: ${errorMessage(error)}`,
                rolledOut: false,
            };
        }
        if (look.state === 'synced') {
            const { syncedCommit, units } = look.synced;
            log.info(`the agent synced ${syncedCommit ?? 'since it started'}: ${units.length} unit(s)`);
            return look.synced;
        }
        if (look.why !== said)
            log.info(`waiting for the agent: ${look.why}`);
        said = look.why;
        const left = deadline - Date.now();
        if (look.state === 'failed' || left <= 0) {
            const after = look.state === 'failed'
                ? look.why
                : `the agent is not ready after ${Math.round(timeoutMs / 1000)}s: ${look.why}`;
            return notReady(deployment, await explain(client, namespace, deployment, look, after));
        }
        await concurrency_sleep(Math.min(backoff.next(), left));
    }
}
/** One look at the Deployment and the inventories. */
async function lookAt(client, namespace, name, deployment, { commit, since }) {
    if (!deployment)
        return {
            state: 'waiting',
            why: `the Deployment ${namespace}/${name} does not exist`,
            rolledOut: false,
        };
    // The same rollout rules as the agent's own health checks (kstatus).
    const health = healthOf(deployment);
    // A deadline passed by the previous generation (a bad image the install just replaced) is stale.
    const observed = deployment.status?.observedGeneration ===
        deployment.metadata.generation;
    if (health.state !== 'healthy')
        return {
            state: health.state === 'failed' && observed ? 'failed' : 'waiting',
            why: `the Deployment ${namespace}/${name} has not rolled out: ${health.message}`,
            rolledOut: false,
        };
    // The agent names itself after its namespace (src/agent/main.ts).
    const inventories = [...(await listInventories(client, namespace, namespace)).values()];
    const synced = syncedCommit(inventories, commit);
    // Without a unit recorded at the commit, a Ready agent that started after it was read (or, without a
    // commit, any Ready agent: one whose paths hold no unit records none).
    const startedAfter = commit ? since : new Date(0);
    const readyPod = !synced && startedAfter && (await readySince(client, deployment, startedAfter));
    if (synced || readyPod)
        return {
            state: 'synced',
            synced: {
                ready: true,
                syncedCommit: synced || commit,
                units: inventories.map((i) => i.unit).sort(),
                ...versionOf(deployment),
            },
        };
    const seen = [...new Set(inventories.map((i) => i.commit.slice(0, 12)))].join(', ');
    return {
        state: 'waiting',
        why: commit
            ? `rolled out but no sync of ${commit} yet (${inventories.length ? `the agent's units are at ${seen}; a commit that changes none of them is recorded when each is applied again, every --sync-interval` : 'no unit recorded'})`
            : 'rolled out but no sync recorded yet',
        rolledOut: true,
    };
}
/**
 * The commit the inventories show a sync of: `commit` when a unit was recorded at it; without one, the
 * commit of the unit applied last. A unit records the commit it was last applied at.
 */
function syncedCommit(inventories, commit) {
    // An empty digest marks a unit that failed part-way: recorded to be pruned later, not synced.
    const applied = inventories.filter((i) => i.digest !== '');
    if (commit)
        return applied.some((i) => i.commit === commit) ? commit : undefined;
    const latest = applied.sort((a, b) => b.lastApplied.localeCompare(a.lastApplied))[0];
    return latest?.commit || undefined;
}
/** The agent container's image and its tag (or digest): the version the summary shows. */
function versionOf(deployment) {
    const spec = deployment?.spec;
    const containers = spec?.template?.spec?.containers ?? [];
    const image = (containers.find((c) => c.name === 'agent') ?? containers[0])?.image;
    if (!image)
        return {};
    const [named, digest] = image.split('@');
    const last = named.slice(named.lastIndexOf('/') + 1);
    const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : undefined;
    return { image, agentVersion: tag ?? (digest ? digest.slice(0, 19) : 'latest') };
}
function notReady(deployment, reason) {
    return { ready: false, units: [], reason, ...versionOf(deployment) };
}
/** Why the agent is not ready: the wait's own reason, with what the pods or the agent's Events say. */
async function explain(client, namespace, deployment, look, why) {
    const parts = [why];
    // What is asked only to explain never hides the reason itself.
    try {
        if (deployment && !look.rolledOut)
            parts.push(...(await podProblems(client, deployment)));
        const lastError = await agentLastError(client, namespace);
        if (lastError)
            parts.push(`the agent's last error: ${lastError}`);
    }
    catch (error) {
        parts.push(`(could not read the pods or Events: ${errorMessage(error)})`);
    }
    return parts.join('; ');
}
/** The Deployment's pods (by its selector's `matchLabels`, as deploy/base has it), but those deleted. */
async function podsOf(client, deployment) {
    const spec = deployment.spec;
    const match = spec?.selector?.matchLabels;
    if (!match)
        return [];
    const labelSelector = Object.entries(match)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
    const pods = await client.list('v1', 'Pod', {
        namespace: deployment.metadata.namespace,
        labelSelector,
    });
    return pods.filter((pod) => !pod.metadata.deletionTimestamp);
}
/** Whether one of the agent's pods was created at or after `since` and is Ready. */
async function readySince(client, deployment, since) {
    return (await podsOf(client, deployment)).some((pod) => {
        const created = Date.parse(String(pod.metadata.creationTimestamp));
        const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        // Kubernetes' timestamps are in whole seconds.
        return ready === true && created >= Math.floor(since.getTime() / 1000) * 1000;
    });
}
/** The Deployment's pods that are stuck, and why: unscheduled, an image not pulled, a crash loop. */
async function podProblems(client, deployment) {
    const namespace = deployment.metadata.namespace ?? '';
    const problems = [];
    for (const pod of await podsOf(client, deployment)) {
        const name = `pod ${pod.metadata.name}`;
        const status = (pod.status ?? {});
        const unscheduled = status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
        if (unscheduled)
            problems.push(`${name} is not scheduled: ${[unscheduled.reason, unscheduled.message].filter(Boolean).join(': ')}`);
        for (const c of [
            ...(status.initContainerStatuses ?? []),
            ...(status.containerStatuses ?? []),
        ]) {
            const waiting = c.state?.waiting;
            const exited = c.state?.terminated ?? c.lastState?.terminated;
            const exit = exited
                ? ` (last exit code ${exited.exitCode ?? '?'}${exited.reason ? ` ${exited.reason}` : ''}${exited.message ? `: ${exited.message.trim()}` : ''})`
                : '';
            if (waiting?.reason && !ON_ITS_WAY.has(waiting.reason))
                problems.push(`${name}: container ${c.name} ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}${exit}`);
            else if (c.state?.running && c.ready === false)
                problems.push(`${name}: container ${c.name} runs but is not ready (it is once it has synced since it started and reaches the git remote: see kubectl logs -n ${namespace} ${pod.metadata.name})`);
        }
    }
    return problems;
}
/** The message of the agent's latest SyncFailed Event for a unit that has not synced since. */
async function agentLastError(client, namespace) {
    const events = (await client.list('v1', 'Event', { namespace })).filter((e) => e.source?.component === AGENT_COMPONENT ||
        e.reportingComponent === AGENT_COMPONENT);
    const text = (v) => (typeof v === 'string' ? v : '');
    const at = (e) => text(e.lastTimestamp) || text(e.eventTime) || text(e.metadata.creationTimestamp);
    // The last Event per unit (each message starts with `<unit>: `): a unit that recovered is no error.
    const lastByUnit = new Map();
    for (const e of events.sort((a, b) => at(a).localeCompare(at(b))))
        lastByUnit.set(text(e.message).split(': ')[0], e);
    const failed = [...lastByUnit.values()].filter((e) => e.reason === 'SyncFailed');
    return failed.length ? text(failed[failed.length - 1].message) : undefined;
}

;// CONCATENATED MODULE: ./src/lib/install/install.ts
/**
 * install-agent's core: connect to the cluster, settle the agent's key (reused, given, new or rotated),
 * register it read-only as the repository's deploy key, render deploy/base for the inputs and apply it
 * with the key's Secret. Run twice with the same inputs, the second run changes nothing. A rotation
 * registers the new key first, updates the Secret and restarts the agent, and deletes the old key last,
 * so there is no moment when neither key works.
 */







/** The `wait` of install-agent: the agent's rollout and sync, as the cluster records them. */
const waitForInstalledAgent = async (client, namespace, timeoutMs, context) => {
    const result = await waitForAgent(client, { namespace, timeoutMs, ...context });
    if (!result.ready) {
        throw new errors_ConfigurationError(`install: ${result.reason ?? 'the agent is not ready'} (namespace ${namespace}; a longer 'timeout' helps if it is still starting)`);
    }
    return result;
};
/** Where the restart annotation goes: a new value rolls the agent's pods. */
const KEY_ANNOTATION = 'gitops-actions.dev/ssh-key';
/** Installs (or updates) the agent; see the module's comment for the order of things. */
async function installAgent(options, log) {
    checkSshRepository(options.repository);
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    const dryRun = options.dryRun === true;
    const project = projectOf(options.repository);
    const host = options.gitHost ?? gitHostOf(options.repository);
    const api = options.token
        ? {
            host,
            apiUrl: options.apiUrl ?? defaultApiUrl(host, options.repository),
            token: options.token,
        }
        : undefined;
    const title = options.deployKeyTitle ?? `gitops-agent ${options.clusterName ?? 'cluster'}/${namespace}`;
    const access = await connect(options.kubeconfig, options.tempDir);
    try {
        const client = access.client;
        const installed = await readSshSecret(client, namespace);
        const comment = `gitops-agent@${options.clusterName ?? namespace}`;
        const chosen = chooseKey(options.sshKey, secretValue(installed, 'identity'), options.rotateKey === true, comment);
        const knownHosts = knownHostsFor(options.repository, options.knownHosts, secretValue(installed, 'known_hosts'));
        const { key } = chosen;
        options.mask?.(key.privateKey);
        log.info(`agent key: ${key.type} ${key.fingerprint} (${chosen.action})`);
        // The new key works on the host before the agent is given it.
        const registered = await register(api, project, title, key, dryRun, log);
        if (!api)
            log.info(pasteInstructions(host, options.repository, project, key));
        const objects = await agentObjects(manifestOptions(options), {
            identity: key.privateKey,
            knownHosts,
            notify: options.notify,
            statusToken: options.statusToken,
        }, { log, ...options.render });
        if (options.outputDir) {
            await writeManifests(options.outputDir, objects);
            log.info(`manifests written to ${options.outputDir} (Secrets without their values)`);
        }
        // Pods created after this saw what the branch holds now (see `waitForAgent`'s `since`).
        const since = new Date();
        const applied = await applyInstall(client, objects, { namespace, dryRun, log });
        const restarted = chosen.previous !== undefined && !dryRun && (await restart(client, namespace, key, log));
        const wait = options.wait && !dryRun
            ? await options.wait(client, namespace, options.timeoutMs ?? 300_000, { since, log })
            : undefined;
        if (chosen.action === 'rotated' && chosen.previous)
            await retire(api, project, chosen.previous, key, dryRun, log);
        const changes = { created: 0, configured: 0, unchanged: 0, pruned: 0 };
        for (const change of applied)
            changes[change.action]++;
        return {
            publicKey: key.publicKey,
            fingerprint: key.fingerprint,
            keyAction: chosen.action,
            deployKeyId: registered?.id,
            deployKeyCreated: registered?.created ?? false,
            manifestsDir: options.outputDir,
            changes,
            objects: applied,
            unchanged: applied.every((c) => c.action === 'unchanged') &&
                !registered?.created &&
                !restarted &&
                chosen.action !== 'rotated',
            restarted,
            wait,
            dryRun,
        };
    }
    finally {
        await access.close();
    }
}
/** The options deploy/base is rendered with: the install's, without its secrets and connections. */
function manifestOptions(options) {
    const { kubeconfig: _kubeconfig, sshKey: _sshKey, knownHosts: _knownHosts, token: _token, notify: _notify, statusToken: _statusToken, render: _render, mask: _mask, wait: _wait, ...rest } = options;
    return rest;
}
/** Registers the key read-only (kept when there already); nothing without a token or in a dry run. */
async function register(api, project, title, key, dryRun, log) {
    if (!api)
        return undefined;
    if (dryRun) {
        log.info(`dry run: the deploy key "${title}" is not registered on ${project}`);
        return undefined;
    }
    try {
        const result = await ensureDeployKey(api, project, { title, publicKey: key.publicKey });
        log.info(`deploy key ${result.id} of ${project} ${result.created ? 'registered' : 'already there'} (read-only)`);
        return result;
    }
    catch (error) {
        throw new errors_ConfigurationError(`install: cannot register the deploy key on ${project}: ${errorMessage(error)}`, { cause: error });
    }
}
/** Rolls the agent's pods, so that they read the new key: an annotation on the pod template. */
async function restart(client, namespace, key, log) {
    // A field manager of its own: applied as gitops-install, this partial object would drop the rest.
    await client.apply({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: AGENT_DEPLOYMENT, namespace },
        spec: { template: { metadata: { annotations: { [KEY_ANNOTATION]: key.fingerprint } } } },
    }, { fieldManager: 'gitops-install-restart', force: true });
    log.info(`Deployment ${namespace}/${AGENT_DEPLOYMENT} restarted to read the new key`);
    return true;
}
/** Deletes the old key's deploy key, last: the new one is registered and in use by now. */
async function retire(api, project, previous, key, dryRun, log) {
    if (dryRun)
        return;
    if (!api) {
        log.warn(`the old deploy key (${previous.fingerprint}) is still registered on ${project}: delete it on the git host once the agent syncs with the new one (${key.fingerprint})`);
        return;
    }
    const old = await findDeployKey(api, project, previous.publicKey);
    if (!old)
        return;
    await deleteDeployKey(api, project, old.id);
    log.info(`old deploy key ${old.id} (${previous.fingerprint}) deleted from ${project}`);
}
/** Where to paste the public key by hand, when no token may register it. */
function pasteInstructions(host, repository, project, key) {
    const name = hostOf(repository) ?? (host === 'gitlab' ? 'gitlab.com' : 'github.com');
    const where = host === 'gitlab'
        ? `https://${name}/${project}/-/settings/repository (Settings > Repository > Deploy keys), with "Grant write permissions to this key" unchecked`
        : `https://${name}/${project}/settings/keys/new, with "Allow write access" unchecked`;
    return [
        'No token to register the deploy key: add this public key as a read-only deploy key of the repository',
        `at ${where}:`,
        '',
        key.publicKey,
        '',
    ].join('\n');
}

;// CONCATENATED MODULE: ./src/commands/ci-env.ts
function ciContext(env = process.env) {
    const tempDir = env.RUNNER_TEMP || undefined;
    if (env.GITLAB_CI === 'true' || env.CI_SERVER_URL) {
        return {
            host: 'gitlab',
            tempDir,
            sourceRepo: env.CI_PROJECT_URL,
            sourceCommit: env.CI_COMMIT_SHA,
            sourceRun: env.CI_PIPELINE_URL ?? env.CI_JOB_URL,
            actor: env.GITLAB_USER_LOGIN,
            serverUrl: env.CI_SERVER_URL,
        };
    }
    const server = env.GITHUB_SERVER_URL ?? (env.GITHUB_ACTIONS ? 'https://github.com' : undefined);
    const repo = env.GITHUB_REPOSITORY;
    return {
        host: 'github',
        tempDir,
        sourceRepo: server && repo ? `${server}/${repo}` : repo,
        sourceCommit: env.GITHUB_SHA,
        sourceRun: server && repo && env.GITHUB_RUN_ID
            ? `${server}/${repo}/actions/runs/${env.GITHUB_RUN_ID}`
            : undefined,
        actor: env.GITHUB_ACTOR,
        serverUrl: server,
    };
}
/**
 * The clone URL of `repository`: a URL or local path as given, or `owner/name` on the current git host
 * (over SSH when an SSH key is used, else HTTPS).
 */
function repositoryUrl(repository, useSsh, ci = ciContext()) {
    if (!/^[\w.-]+\/[\w.-]+(\/[\w.-]+)*$/.test(repository) || repository.startsWith('.'))
        return repository;
    const server = ci.serverUrl ?? 'https://github.com';
    const host = new URL(server).host;
    return useSsh ? `git@${host}:${repository}.git` : `${server.replace(/\/$/, '')}/${repository}.git`;
}

;// CONCATENATED MODULE: ./src/commands/install-agent.ts




/** `kubeconfig`: a path as it is, content masked as the secret it is. */
function readKubeconfig(inputs) {
    const value = inputs.text('kubeconfig');
    return value !== undefined && isKubeconfigContent(value) ? inputs.secret('kubeconfig') : value;
}
/** `resources`: `requests.cpu=50m` pairs (quantities are checked where the manifests are made). */
function readResources(inputs) {
    const pairs = inputs.list('resources');
    if (pairs.length === 0)
        return undefined;
    const resources = {};
    for (const pair of pairs) {
        const m = /^(requests|limits)\.(cpu|memory)=(\S+)$/.exec(pair);
        if (!m)
            throw new errors_ConfigurationError(`input 'resources': '${pair}' is not requests.cpu|memory=VALUE or limits.cpu|memory=VALUE`);
        const [, kind, name, value] = m;
        resources[kind] = { ...resources[kind], [name]: value };
    }
    return resources;
}
function timeoutMs(inputs) {
    const seconds = Number(inputs.optional('timeout') ?? '300');
    if (!Number.isSafeInteger(seconds) || seconds < 1)
        throw new errors_ConfigurationError("input 'timeout' must be a whole number of seconds, at least 1");
    return seconds * 1000;
}
const installAgentCommand = {
    name: 'install-agent',
    getInputs: (inputs) => {
        const paths = inputs.list('paths');
        return {
            kubeconfig: readKubeconfig(inputs),
            namespace: inputs.optional('namespace'),
            image: inputs.required('image'),
            repository: inputs.required('repository'),
            branch: inputs.optional('branch'),
            paths: paths.length > 0 ? paths : undefined,
            pollInterval: inputs.optional('poll-interval'),
            syncInterval: inputs.optional('sync-interval'),
            prune: inputs.boolean('prune'),
            clusterName: inputs.optional('cluster-name'),
            manifestGeneration: inputs.boolean('manifest-generation'),
            resources: readResources(inputs),
            sshKey: inputs.secret('ssh-key'),
            knownHosts: inputs.text('known-hosts'),
            token: inputs.secret('token'),
            gitHost: inputs.choice('git-host', ['github', 'gitlab']),
            apiUrl: inputs.optional('api-url'),
            deployKeyTitle: inputs.optional('deploy-key-title'),
            rotateKey: inputs.boolean('rotate-key'),
            notify: inputs.secret('notify'),
            statusToken: inputs.secret('status-token'),
            outputDir: inputs.optional('output-dir'),
            dryRun: inputs.boolean('dry-run'),
            timeoutMs: inputs.boolean('wait') ? timeoutMs(inputs) : undefined,
            tempDir: ciContext().tempDir,
            mask: (secret) => inputs.mask(secret),
            wait: inputs.boolean('wait') ? waitForInstalledAgent : undefined,
        };
    },
    run: installAgent,
    outputs: (r) => ({
        'public-key': r.publicKey,
        'deploy-key-id': r.deployKeyId === undefined ? '' : String(r.deployKeyId),
        'manifests-dir': r.manifestsDir ?? '',
        'agent-ready': String(r.wait?.ready ?? false),
        'synced-commit': r.wait?.syncedCommit ?? '',
        unchanged: String(r.unchanged),
    }),
    summary: (r) => {
        const c = r.changes;
        return [
            `### install-agent: ${r.dryRun ? 'dry run' : r.unchanged ? 'unchanged' : 'installed'}`,
            '',
            `Objects: ${c.created} created, ${c.configured} configured, ${c.unchanged} unchanged, ${c.pruned} pruned.`,
            `Key: \`${r.fingerprint}\` (${r.keyAction})${r.deployKeyId !== undefined ? `, deploy key ${r.deployKeyId}` : ''}.`,
            r.wait
                ? `Agent ${r.wait.agentVersion ?? ''} ready; synced commit \`${r.wait.syncedCommit ?? ''}\`; units: ${r.wait.units.map((u) => `\`${u}\``).join(', ') || 'none'}.`
                : '',
            '',
        ].join('\n');
    },
};

;// CONCATENATED MODULE: ./src/lib/gitops/diff.ts
/** What a release changes in a release folder: objects added, changed and removed (what the agent prunes). */




/** The objects of a release folder as it is now (none when it does not exist or cannot be read). */
async function folderObjects(dir, log) {
    if (!(0,external_node_fs_namespaceObject.existsSync)(dir))
        return [];
    try {
        const docs = await readManifestFolder(dir, { skip: ['release.json'] });
        return docs.map((d) => d.value);
    }
    catch (error) {
        log.warn(`could not read the objects now in ${dir} (${error.message}); the diff counts all as added`);
        return [];
    }
}
function diffObjects(before, after) {
    const index = (objects) => new Map(objects.map((o) => [objectKey(o), o]));
    const old = index(before);
    const now = index(after);
    const diff = { added: [], changed: [], removed: [] };
    for (const [key, object] of now) {
        const previous = old.get(key);
        if (!previous)
            diff.added.push(describeObject(object));
        else if (objectDigest(previous) !== objectDigest(object))
            diff.changed.push(describeObject(object));
    }
    for (const [key, object] of old)
        if (!now.has(key))
            diff.removed.push(describeObject(object));
    return diff;
}
/** A markdown table of the diff, for job summaries. */
function diffTable(diff) {
    const rows = [
        ...diff.added.map((o) => `| added | \`${o}\` |`),
        ...diff.changed.map((o) => `| changed | \`${o}\` |`),
        ...diff.removed.map((o) => `| removed (the agent prunes it) | \`${o}\` |`),
    ];
    if (rows.length === 0)
        return 'No object changed.\n';
    return ['| change | object |', '| --- | --- |', ...rows, ''].join('\n');
}

;// CONCATENATED MODULE: ./src/lib/git/credentials.ts
/**
 * Credentials for a remote, never written into `.git/config`: a token rides on each command as an
 * `http.extraheader` passed in the environment, and an SSH key lives in a private temp folder with a
 * pinned known_hosts file, removed by `dispose()`.
 */







async function prepareCredentials(url, auth, log) {
    const transport = transportOf(url);
    const env = { GIT_TERMINAL_PROMPT: '0' };
    let dir;
    let unregister;
    if (transport === 'ssh') {
        const knownHosts = auth.knownHosts?.trim() || (isGithubSsh(url) ? GITHUB_KNOWN_HOSTS.join('\n') : '');
        if (!knownHosts) {
            throw new errors_ConfigurationError(`known-hosts is required for the SSH remote ${url} (only GitHub's host keys are built in); ` +
                `give the host's public key line(s), e.g. from 'ssh-keyscan -p PORT host' checked out of band`);
        }
        dir = await external_node_fs_namespaceObject.promises.mkdtemp((0,external_node_path_namespaceObject.join)((0,external_node_os_namespaceObject.tmpdir)(), 'gitops-ssh-'));
        // The key must not outlive a run stopped by a signal.
        unregister = registerTempDir(dir);
        await external_node_fs_namespaceObject.promises.chmod(dir, 0o700);
        const knownHostsFile = (0,external_node_path_namespaceObject.join)(dir, 'known_hosts');
        await external_node_fs_namespaceObject.promises.writeFile(knownHostsFile, `${knownHosts}\n`, { mode: 0o600 });
        const args = [
            'ssh',
            '-o',
            'BatchMode=yes',
            '-o',
            'StrictHostKeyChecking=yes',
            '-o',
            `UserKnownHostsFile=${shellQuote(knownHostsFile)}`,
            '-o',
            'ConnectTimeout=30',
        ];
        if (auth.sshKey) {
            const keyFile = (0,external_node_path_namespaceObject.join)(dir, 'key');
            const key = auth.sshKey.endsWith('\n') ? auth.sshKey : `${auth.sshKey}\n`;
            await external_node_fs_namespaceObject.promises.writeFile(keyFile, key, { mode: 0o600 });
            args.push('-i', shellQuote(keyFile), '-o', 'IdentitiesOnly=yes');
        }
        env.GIT_SSH_COMMAND = args.join(' ');
    }
    else if (auth.token && (transport === 'https' || transport === 'http')) {
        const basic = Buffer.from(`${auth.tokenUser ?? 'x-access-token'}:${auth.token}`).toString('base64');
        // Through the environment, not `-c` on the command line, where other users of the machine could
        // read it with ps; and never into .git/config.
        env.GIT_CONFIG_COUNT = '1';
        env.GIT_CONFIG_KEY_0 = 'http.extraheader';
        env.GIT_CONFIG_VALUE_0 = `AUTHORIZATION: basic ${basic}`;
    }
    else if (auth.token) {
        log.debug(`a token is not used for the ${transport} remote ${redactUrl(url)}`);
    }
    const created = dir;
    return {
        env,
        dispose: async () => {
            if (created)
                await external_node_fs_namespaceObject.promises.rm(created, { recursive: true, force: true });
            unregister?.();
        },
    };
}
/**
 * The URL git is given (without user info) and the auth to use: credentials in an http(s) URL are sent
 * like a token (a header from the environment), so they never reach `.git/config`. An explicit token
 * wins over one in the URL.
 */
function credentialsFromUrl(url, auth = {}) {
    const split = splitUrlCredentials(url);
    if (split.url === url || auth.token)
        return { url: split.url, auth };
    // `https://token@host/…` (a token as the user name) or `https://user:token@host/…`.
    if (split.password !== undefined)
        return { url: split.url, auth: { ...auth, token: split.password, tokenUser: split.user ?? '' } };
    if (split.user)
        return { url: split.url, auth: { ...auth, token: split.user } };
    return { url: split.url, auth };
}
function shellQuote(s) {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

;// CONCATENATED MODULE: ./src/lib/git/exec.ts
/**
 * Running the git binary: through the one process runner, with an environment of our own, a time limit,
 * and errors that say what git said without the credentials it may have echoed.
 */


/**
 * A git command that failed; its message says what was being done and what git said. When a limit of
 * the process runner killed git, its `ProcessLimitError` is the cause (see `limitOf`).
 */
class GitCommandError extends Error {
    constructor(message, options) {
        super(message, options);
        this.name = 'GitCommandError';
    }
}
/**
 * Without a caller's limit, each git command gets this long: a remote that never answers must not hang
 * a publish (or its ssh and remote helpers outlive it).
 */
const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/**
 * The caller's environment without what must not reach git: the identity comes from commit(), the
 * repository from the clone, and editors, pagers, prompts and extra config would make runs differ by
 * machine. Proxy and TLS settings for HTTPS remotes are kept.
 */
function gitEnvironment() {
    const keep = /^GIT_(SSL_CAINFO|SSL_CAPATH|HTTP_LOW_SPEED_\w+|TRACE\w*|CURL_VERBOSE|CONFIG_NOSYSTEM)$/i;
    const drop = /^(GIT_\w+|EDITOR|VISUAL|PAGER|PREFIX|SSH_ASKPASS)$/i;
    const env = {};
    for (const [key, value] of Object.entries(process.env)) {
        if (value !== undefined && (keep.test(key) || !drop.test(key)))
            env[key] = value;
    }
    return env;
}
/**
 * Runs git in `cwd` through the process runner; resolves with its stdout, rejects with a
 * `GitCommandError` holding what it said. Stdin is only the given `input` (no prompt can hang a job).
 * After `timeoutMs` its whole process group is killed: ssh or a remote helper holding the pipes would
 * otherwise keep the command, and every later one on the clone, waiting.
 */
async function execGit(args, options) {
    let r;
    try {
        r = await runProcess('git', args, {
            cwd: options.cwd,
            env: options.env,
            input: options.input,
            maxOutputBytes: options.maxOutputBytes,
            timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
            label: 'git',
        });
    }
    catch (error) {
        if (!(error instanceof ProcessLimitError))
            throw new GitCommandError(errorMessage(error));
        const said = error.stderr.trim();
        throw new GitCommandError(`${error.message}${said ? `: ${said}` : ''}`, { cause: error });
    }
    if (r.code === 0)
        return r.stdout;
    // Both streams: `push --porcelain` tells a rejection on stdout, the reason on stderr; only the tail
    // of a long output.
    const said = [r.stderr.trim(), r.stdout.toString('utf8').trim().slice(-2000)]
        .filter(Boolean)
        .join('\n');
    throw new GitCommandError(said || `git exited with code ${r.code}`);
}
/** Removes anything that looks like credentials from git's messages. */
function redact(message) {
    return message
        .replace(/(https?:\/\/)[^@\s/]+@/gi, '$1')
        .replace(/(AUTHORIZATION: basic )\S+/gi, '$1***');
}
/** What git says when the remote refused the login. */
const AUTH_FAILED = /could not read Username|Authentication failed|HTTP Basic: Access denied|Permission denied \(publickey|returned error: 40[13]/i;
/**
 * A failed git command as the error callers see: what was being done, what git said (redacted), a hint
 * when the login was refused, and the limit that killed it, if one did.
 */
function describeFailure(error, what) {
    const message = redact(errorMessage(error)).trim();
    const hint = AUTH_FAILED.test(message)
        ? ' (the remote refused the credentials: check the token or ssh-key, and that it may access this repository)'
        : '';
    return new GitCommandError(`git failed to ${what}: ${message}${hint}`, { cause: error });
}

;// CONCATENATED MODULE: ./src/lib/git/fetch.ts
/** The commands that read from the remote: clone and fetch, as argument arrays. */
/** `git clone` of one branch (the remote's default without one) into the current folder. */
function cloneArgs(options) {
    const depth = options.depth ?? 1;
    return [
        'clone',
        '--quiet',
        '--no-tags',
        '--single-branch',
        ...(options.branch ? ['--branch', options.branch] : []),
        ...(depth ? ['--depth', String(depth)] : []),
        ...(options.checkout === false ? ['--no-checkout'] : []),
        // `--`: whatever the URL holds, it is never read as an option.
        '--',
        options.url,
        '.',
    ];
}
/** `git fetch` from origin, without tags, of `refspecs`, with `options` (`--depth 1`, `--unshallow`). */
function fetchArgs(refspecs, options = []) {
    return ['fetch', '--quiet', '--no-tags', ...options, 'origin', ...refspecs];
}

;// CONCATENATED MODULE: ./src/lib/git/history.ts
/** Reading commits: `git log` records, and a commit's time in the checkout a CI step runs in. */



/** `git log` of `path` in `range` as records of hash, commit time and message (see `parseLog`). */
function logArgs(path, range) {
    return ['log', '--format=%H%x1f%cI%x1f%B%x1e', range, '--', path];
}
/** The commits in `logArgs` output, newest first. */
function parseLog(out) {
    return out
        .split('\x1e')
        .map((r) => r.trim())
        .filter((r) => r !== '')
        .map((r) => {
        const [hash, time, message] = r.split('\x1f');
        return { hash, time, message: message.trim() };
    });
}
/**
 * The committer time (ISO 8601) of a commit in the repository at `dir` (the checkout a CI step runs in),
 * or undefined when it is not there.
 */
async function localCommitTime(commit, dir = process.cwd()) {
    if (!/^[0-9a-f]{7,64}$/i.test(commit))
        return undefined;
    try {
        const out = await execGit(['show', '-s', '--format=%cI', commit], {
            cwd: dir,
            env: gitEnvironment(),
        });
        return out.toString('utf8').trim() || undefined;
    }
    catch {
        return undefined;
    }
}
/** The commits at the shallow boundary of the clone in `dir` (none when it is not shallow). */
async function shallowCommits(dir) {
    try {
        const text = await external_node_fs_namespaceObject.promises.readFile((0,external_node_path_namespaceObject.join)(dir, '.git', 'shallow'), 'utf8');
        return new Set(text.split('\n').filter(Boolean));
    }
    catch {
        return new Set();
    }
}

;// CONCATENATED MODULE: ./src/lib/git/retry.ts
/**
 * Clone and fetch retry like every other network call: a bounded number of attempts with jittered
 * back-off, and none for what cannot succeed on retry (a refused login, a missing repository or branch,
 * a host key that does not match, a command our own limits killed, a mistake on this side).
 */





const NETWORK_RETRY = { attempts: 3, baseMs: 1000, capMs: 4000 };
/** What git says when the repository or the ref is not there. */
const NOT_FOUND = /repository .* not found|Repository not found|does not appear to be a git repository|returned error: 404|project you were looking for could not be found|Remote branch .* not found|couldn't find remote ref|not our ref/i;
/** What ssh says when the host's key is not the one pinned. */
const HOST_KEY = /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed|No \S+ host key is known/i;
/** Mistakes on this side that no retry mends. */
const LOCAL = /already exists and is not an empty directory|invalid refspec|unknown option|not a git repository/i;
/** False for a failure that would fail again the same way. */
function isRetryable(error) {
    if (!(error instanceof GitCommandError) || limitOf(error) !== undefined)
        return false;
    const message = errorMessage(error);
    return ![AUTH_FAILED, NOT_FOUND, HOST_KEY, LOCAL].some((pattern) => pattern.test(message));
}
/**
 * Runs `attempt` until it succeeds, fails in a way no retry mends, or has been tried
 * `policy.attempts` times; each retry is logged with what failed and how long it waits.
 */
async function withRetry(attempt, log, policy = NETWORK_RETRY) {
    const backoff = new Backoff({ baseMs: policy.baseMs, capMs: policy.capMs, jitter: 'equal' });
    for (let n = 1;; n++) {
        try {
            return await attempt();
        }
        catch (error) {
            if (n >= policy.attempts || !isRetryable(error))
                throw error;
            const wait = backoff.next();
            log.warn(`${errorMessage(error)} (attempt ${n} of ${policy.attempts}); retrying in ${(wait / 1000).toFixed(1)} s`);
            await concurrency_sleep(wait);
        }
    }
}

;// CONCATENATED MODULE: ./src/lib/git/tree.ts
/** Reading trees and blobs from git's objects: `ls-tree -z` and `cat-file --batch` output, as bytes. */

/** `git ls-tree -r -t -l -z --full-tree` of `path` (the whole tree when empty) at `commit`. */
function lsTreeArgs(commit, path) {
    return [
        // A path is a path, never pathspec magic (`:x`).
        '--literal-pathspecs',
        'ls-tree',
        '-r',
        '-t',
        '-l',
        '-z',
        '--full-tree',
        commit,
        ...(path ? ['--', `${path}/`] : []),
    ];
}
/** The entries of `lsTreeArgs` output. */
function parseTree(out) {
    const entries = [];
    // Split as bytes: a path is decoded on its own, strictly (a lossy decode makes names meet).
    for (let at = 0; at < out.length;) {
        const nul = out.indexOf(0, at);
        const end = nul < 0 ? out.length : nul;
        const line = out.subarray(at, end);
        at = end + 1;
        const tab = line.indexOf(0x09);
        if (tab < 0)
            continue;
        // "<mode> <type> <hash> <size, padded>": the size is "-" for folders and submodules.
        const [mode, type, hash, size] = line.subarray(0, tab).toString('latin1').trim().split(/ +/);
        entries.push({
            mode,
            type,
            hash,
            size: Number(size) || 0,
            ...decodePath(line.subarray(tab + 1)),
        });
    }
    return entries;
}
/**
 * The most `cat-file --batch` may write for these blobs: each answer's header, "<hash> blob <size>\n",
 * its content and the newline after it.
 */
function batchBound(sizes) {
    let bound = 0;
    for (const [hash, size] of sizes)
        bound += size + hash.length + 32;
    return bound;
}
/** The blobs in `cat-file --batch` output, by hash. */
function parseBatch(out) {
    const blobs = new Map();
    // Each answer: "<hash> <type> <size>\n<size bytes>\n", or "<name> missing\n".
    let at = 0;
    while (at < out.length) {
        const eol = out.indexOf(0x0a, at);
        const header = out.subarray(at, eol).toString('latin1').split(' ');
        if (header.length !== 3)
            throw new GitCommandError(`git cannot read object ${header[0]}`);
        const size = Number(header[2]);
        blobs.set(header[0], out.subarray(eol + 1, eol + 1 + size));
        at = eol + 1 + size + 1;
    }
    return blobs;
}
// ignoreBOM: a leading U+FEFF stays part of the name (dropped, "\uFEFFa" would read as "a").
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/**
 * A path from git as text. One that is not UTF-8 keeps each byte of its names that are not as `\xNN`,
 * and says which name is the first of them (see `TreeEntry.notUtf8At`).
 */
function decodePath(bytes) {
    try {
        return { path: strictUtf8.decode(bytes) };
    }
    catch {
        // "/" is never part of a longer UTF-8 sequence: names can be decoded one by one.
        let notUtf8At;
        const names = bytes
            .toString('latin1')
            .split('/')
            .map((latin1, i) => {
            const name = Buffer.from(latin1, 'latin1');
            try {
                return strictUtf8.decode(name);
            }
            catch {
                notUtf8At ??= i;
                // A backslash is escaped too: two different names never read the same.
                const escape = (b) => b === 0x5c ? '\\\\' : b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16)}`;
                return [...name].map(escape).join('');
            }
        });
        return { path: names.join('/'), notUtf8At };
    }
}

;// CONCATENATED MODULE: ./src/lib/git/write.ts
/** Writing to a clone and its remote: the commit and push commands, and what a rejected push says. */

/** Thrown when the remote refused a push because its branch moved (someone else pushed first). */
class PushRejectedError extends Error {
    constructor(message) {
        super(message);
        this.name = 'PushRejectedError';
    }
}
/** Messages of a rejected, non-fast-forward push, in the words of git and of the common hosts. */
const REJECTED = /\[rejected\]|non-fast-forward|fetch first|failed to update ref|cannot lock ref|stale info|incorrect old value/i;
/** Commits what is staged, with `author` as author and committer, skipping hooks and signing. */
function commitArgs(message, author) {
    return [
        '-c',
        `user.name=${author.name}`,
        '-c',
        `user.email=${author.email}`,
        'commit',
        '--quiet',
        '--no-verify',
        '--no-gpg-sign',
        '-m',
        message,
    ];
}
/** Pushes HEAD to `branch`; with `lease`, only if the remote branch is still at that commit. */
function pushArgs(branch, lease) {
    const args = ['push', '--quiet', '--porcelain', 'origin'];
    if (lease !== undefined)
        args.push(`--force-with-lease=refs/heads/${branch}:${lease}`);
    args.push(`HEAD:refs/heads/${branch}`);
    return args;
}
/** A failed push as a `PushRejectedError` when the branch moved; any other failure as it is. */
function pushFailure(error) {
    return REJECTED.test(errorMessage(error)) ? new PushRejectedError(errorMessage(error)) : error;
}

;// CONCATENATED MODULE: ./src/lib/git/git.ts
/**
 * The one git wrapper. Everything that touches git goes through `GitClient` (the git binary run directly,
 * arguments as arrays, never a shell, one command at a time per clone). Credentials never reach
 * `.git/config` (see `credentials.ts`); clone and fetch retry what may succeed on retry (`retry.ts`).
 */














/** A working clone of one remote branch, and the git commands run on it. */
class GitClient {
    dir;
    url;
    env;
    timeoutMs;
    credentials;
    log;
    /** The command running now: commands on one clone run one after another. */
    queue = Promise.resolve();
    constructor(dir, url, env, timeoutMs, credentials, log) {
        this.dir = dir;
        this.url = url;
        this.env = env;
        this.timeoutMs = timeoutMs;
        this.credentials = credentials;
        this.log = log;
    }
    /** Runs one git command in the clone, after those already started. */
    async raw(args) {
        return (await this.rawBytes(args)).toString('utf8');
    }
    rawBytes(args, input, maxOutputBytes) {
        const run = this.queue.then(() => execGit(args, {
            cwd: this.dir,
            env: this.env,
            timeoutMs: this.timeoutMs,
            input,
            maxOutputBytes,
        }));
        this.queue = run.catch(() => undefined);
        return run;
    }
    /** A client on `dir` whose every git command carries the credentials. */
    static make(dir, url, credentials, log, timeoutMs) {
        // GIT_SSH_COMMAND and the GIT_CONFIG_* header are built here (a temp key file and pinned known_hosts;
        // the token's header), never taken from user input as they are.
        const env = { ...gitEnvironment(), ...credentials.env };
        return new GitClient(dir, url, env, timeoutMs, credentials, log);
    }
    /**
     * Clones `branch` of `url` into `dir` (created), shallowly unless `depth` is 0. The default branch is
     * asked of the remote when `branch` is not given.
     */
    static async clone(options, log) {
        options = { ...options, ...credentialsFromUrl(options.url, options.auth) };
        if (options.url.startsWith('-')) {
            // git would take it for an option (`--upload-pack=<command>` runs a command).
            throw new errors_ConfigurationError(`repository: '${redactUrl(options.url)}' is not a repository URL (it starts with '-')`);
        }
        const credentials = await prepareCredentials(options.url, options.auth ?? {}, log);
        try {
            await external_node_fs_namespaceObject.promises.mkdir(options.dir, { recursive: true });
            const client = GitClient.make(options.dir, options.url, credentials, log, options.timeoutMs);
            const depth = options.depth ?? 1;
            // Without a branch, git clones the remote's default branch (its HEAD): no extra round trip.
            const what = `${redactUrl(options.url)} (branch ${options.branch ?? '(default)'}${depth ? `, depth ${depth}` : ''})`;
            log.info(`Cloning ${what}`);
            await client.network(cloneArgs(options), `clone ${what}`);
            if (!options.branch && !(await client.resolveCommit('HEAD'))) {
                throw new errors_ConfigurationError(`${redactUrl(options.url)} is empty (no default branch); set the branch input`);
            }
            return client;
        }
        catch (error) {
            await credentials.dispose();
            throw error;
        }
    }
    /**
     * Opens a clone made earlier (by `clone`) in `dir`, if it is one of `url`; undefined otherwise. Lets a
     * restarted process fetch what changed instead of cloning again.
     */
    static async open(options, log) {
        if (!(0,external_node_fs_namespaceObject.existsSync)((0,external_node_path_namespaceObject.join)(options.dir, '.git')))
            return undefined;
        // An origin stored with user info (by an older version) differs, so that clone is replaced.
        options = { ...options, ...credentialsFromUrl(options.url, options.auth) };
        const credentials = await prepareCredentials(options.url, options.auth ?? {}, log);
        const client = GitClient.make(options.dir, options.url, credentials, log, options.timeoutMs);
        try {
            const origin = (await client.run(['remote', 'get-url', 'origin'], 'read the origin')).trim();
            if (origin === options.url)
                return client;
        }
        catch {
            // not a usable clone: the caller clones afresh
        }
        await credentials.dispose();
        return undefined;
    }
    /** Runs git; a failure becomes an error that says what was being done. */
    async run(args, what) {
        return (await this.runBytes(args, what)).toString('utf8');
    }
    /** `run` for output that is not text (file contents), with `input` on stdin. */
    async runBytes(args, what, input, maxOutputBytes) {
        this.log.debug(redact(`git ${args.join(' ')}`));
        try {
            return await this.rawBytes(args, input, maxOutputBytes);
        }
        catch (error) {
            throw describeFailure(error, what);
        }
    }
    /** `run` for a command that reaches the remote (clone, fetch, ls-remote): retried when it may help. */
    network(args, what) {
        return withRetry(() => this.run(args, what), this.log);
    }
    /** Fetches `branch` (all new commits, keeping any history already here) and resets the work tree to it. */
    async resetToRemote(branch) {
        await this.network(fetchArgs([`+refs/heads/${branch}:refs/remotes/origin/${branch}`]), `fetch ${branch}`);
        await this.run(['reset', '--quiet', '--hard', `refs/remotes/origin/${branch}`], `reset to origin/${branch}`);
        // Untracked files: none in a clone only this tool writes to, but a publish retry makes sure.
        await this.run(['clean', '-q', '-fdx'], 'clean the work tree');
        return this.head();
    }
    /** Fetches `depth` more commits of history (or all of it); false when there was nothing more. */
    async deepen(depth) {
        if (!(await this.isShallow()))
            return false;
        const deeper = depth === 'all' ? '--unshallow' : `--deepen=${depth}`;
        await this.network(fetchArgs([], [deeper]), 'fetch more history');
        return true;
    }
    /**
     * The commits at the shallow boundary. `git log -- <path>` lists a boundary commit whatever it changed
     * (its parent is missing, so everything looks added): a history read from a shallow clone must leave
     * them out until more history is fetched.
     */
    shallowBoundary() {
        return shallowCommits(this.dir);
    }
    async isShallow() {
        return ((await this.run(['rev-parse', '--is-shallow-repository'], 'inspect the clone')).trim() ===
            'true');
    }
    /** The branch checked out. */
    async branch() {
        return (await this.run(['rev-parse', '--abbrev-ref', 'HEAD'], 'read the branch')).trim();
    }
    async head() {
        return (await this.run(['rev-parse', 'HEAD'], 'read HEAD')).trim();
    }
    /** Stages everything under `path` (additions, changes and removals). */
    async addAll(path) {
        await this.run(['add', '--all', '--', path], `stage ${path}`);
    }
    /** True when the index differs from HEAD under `path`. */
    async hasStagedChanges(path) {
        const out = await this.run(['diff', '--cached', '--name-only', '--', path], 'compare with HEAD');
        return out.trim() !== '';
    }
    /** Commits what is staged, with the given author as author and committer. */
    async commit(message, author) {
        await this.run(commitArgs(message, author), 'commit');
        return this.head();
    }
    /**
     * Pushes HEAD to `branch`. A rejection because the branch moved is a `PushRejectedError` (the caller
     * fetches and re-applies); anything else is a plain error. `lease` makes it a force-with-lease push
     * (only ever used on the tool's own pull-request branches).
     */
    async push(branch, options = {}) {
        try {
            await this.run(pushArgs(branch, options.lease), `push to ${branch}`);
        }
        catch (error) {
            throw pushFailure(error);
        }
    }
    /** The commit a remote branch points at, or undefined when it does not exist. */
    async remoteBranchCommit(branch) {
        const out = await this.network(['ls-remote', 'origin', `refs/heads/${branch}`], `look up ${branch}`);
        return out.trim() ? out.trim().split(/\s+/)[0] : undefined;
    }
    /** A file of another branch of the remote (fetched shallowly), or undefined when either is missing. */
    async remoteBranchFile(branch, path) {
        if (!(await this.remoteBranchCommit(branch)))
            return undefined;
        const ref = `refs/gitops-actions/${branch}`;
        await this.network(fetchArgs([`+refs/heads/${branch}:${ref}`], ['--depth', '1']), `fetch ${branch}`);
        try {
            return await this.raw(['show', `${ref}:${path}`]);
        }
        catch {
            return undefined;
        }
    }
    /** `git log` of `path` as records of hash, subject, body and commit time, newest first. */
    async history(path, range = 'HEAD') {
        return parseLog(await this.run(logArgs(path, range), `read the history of ${path}`));
    }
    /**
     * Every file and folder under `path` at `commit`, recursively, in git's order, with git's modes,
     * object hashes and blob sizes (`git ls-tree -r -t -l`). Paths are relative to the repository's root.
     */
    async listTree(commit, path) {
        return parseTree(await this.runBytes(lsTreeArgs(commit, path), `list ${path || 'the root'}`));
    }
    /**
     * The content of blobs: one `git cat-file --batch` for all of them. Its output may be as large as
     * the sizes asked for (from `listTree`) and no larger: a huge file is read only when asked for.
     */
    async readBlobs(wanted) {
        const unique = new Map(wanted.map((b) => [b.hash, b.size]));
        if (unique.size === 0)
            return new Map();
        const out = await this.runBytes(['cat-file', '--batch'], `read ${unique.size} files`, `${[...unique.keys()].join('\n')}\n`, batchBound(unique));
        return parseBatch(out);
    }
    /**
     * Fetches `branch` straight into the local branch of that name, without touching the work tree: for a
     * clone whose files are read from git's objects. Returns the branch's new commit.
     */
    async fetchHead(branch) {
        await this.network(fetchArgs([`+refs/heads/${branch}:refs/heads/${branch}`], ['--update-head-ok']), `fetch ${branch}`);
        return (await this.run(['rev-parse', `refs/heads/${branch}`], `read ${branch}`)).trim();
    }
    /**
     * Writes a commit's files into the work tree, for tools that read files (kustomize); into `workTree`
     * (created) when given, a folder without `.git`, so such tools cannot read the clone's own files. The
     * clone's index follows the last tree written: only files that changed since are written again.
     */
    async checkout(commit, workTree) {
        if (workTree)
            await external_node_fs_namespaceObject.promises.mkdir(workTree, { recursive: true });
        await this.run([...(workTree ? [`--work-tree=${workTree}`] : []), 'reset', '--quiet', '--hard', commit], `check out ${commit.slice(0, 12)}`);
    }
    /**
     * True when `ancestor` is in the history of `commit`: the branch moved forward from it. False when
     * it is not (the branch was force-pushed), or when git cannot tell.
     */
    async isAncestor(ancestor, commit) {
        try {
            await this.raw(['merge-base', '--is-ancestor', ancestor, commit]);
            return true;
        }
        catch {
            return false;
        }
    }
    /** Resolves a commit name (full or short hash) to a full hash, or undefined. */
    async resolveCommit(name) {
        try {
            return ((await this.raw(['rev-parse', '--verify', '--quiet', `${name}^{commit}`])).trim() ||
                undefined);
        }
        catch {
            return undefined;
        }
    }
    /** Puts `path` as it was at `commit` into the work tree and index (removing what was added since). */
    async restorePath(commit, path) {
        await this.run(['rm', '-r', '-q', '--ignore-unmatch', '--', path], `clear ${path}`);
        await this.run(['checkout', commit, '--', path], `restore ${path} from ${commit}`);
    }
    /** Removes credentials files; the clone itself is the caller's to remove. */
    async dispose() {
        await this.credentials.dispose();
    }
}

;// CONCATENATED MODULE: ./src/lib/gitops/layout.ts
/**
 * The gitops repo convention: `releases/<env>/<app>/` holds one app's rendered objects in one environment,
 * with `release.json` beside them.
 */

const RELEASES_DIR = 'releases';
const RELEASE_FILE = 'release.json';
// DNS-label-like: what can be a folder name, a label value and part of a branch name safely.
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Checks an env or app name; `input` names the input in the error. */
function validateName(input, value) {
    if (!NAME.test(value)) {
        throw new errors_ConfigurationError(
        // The value is not echoed: a secret pasted into the wrong input must not be printed.
        `input '${input}' is not a valid name (lower-case letters, digits and '-', at most 63, ` +
            `starting and ending with a letter or digit)`);
    }
    return value;
}
/** `releases/<env>/<app>` (relative to the repo root, always with `/`). */
function releasePath(env, app) {
    return `${RELEASES_DIR}/${env}/${app}`;
}

;// CONCATENATED MODULE: ./src/lib/gitops/trailers.ts
/**
 * Commit messages of the gitops repo: a subject that says what happened (`release(staging/shop): 1.4.2`)
 * and git trailers, so that plain `git log` answers "what was released where, from which commit".
 */
/** Every trailer a gitops commit may carry, in the order written. */
const TRAILERS = {
    app: 'Gitops-App',
    env: 'Gitops-Env',
    version: 'Gitops-Version',
    digest: 'Gitops-Digest',
    sourceRepo: 'Source-Repo',
    sourceCommit: 'Source-Commit',
    sourceRun: 'Source-Run',
    promotedFrom: 'Promoted-From',
    releasedBy: 'Released-By',
    rollbackTo: 'Rollback-To',
    reverts: 'Reverts',
};
/**
 * The trailers of a release, promote, rollback or unpin commit, always in the same order; what is not
 * given is left out. `reverts` gives one `Reverts:` line per commit undone.
 */
function releaseTrailers(values) {
    return Object.entries(TRAILERS).flatMap(([field, key]) => {
        const value = values[field];
        const list = Array.isArray(value) ? value : [value ?? ''];
        return list.map((v) => ({ key, value: v }));
    });
}
/** Builds a message: subject, optional body, a blank line, then the trailers. */
function commitMessage(subject, body, trailers) {
    const lines = [subject];
    if (body && body.trim())
        lines.push('', body.trim());
    const present = trailers.filter((t) => t.value !== '');
    if (present.length > 0) {
        lines.push('', ...present.map((t) => `${t.key}: ${t.value.replace(/\s*\n\s*/g, ' ')}`));
    }
    return `${lines.join('\n')}\n`;
}
/** Every trailer of a message (the last paragraph's `Key: value` lines), in order. */
function parseTrailers(message) {
    const paragraphs = message.trim().split(/\n\s*\n/);
    if (paragraphs.length < 2)
        return [];
    const last = paragraphs[paragraphs.length - 1].split('\n');
    const trailers = [];
    for (const line of last) {
        const m = /^([A-Za-z][A-Za-z0-9-]*): (.*)$/.exec(line);
        if (!m)
            return [];
        trailers.push({ key: m[1], value: m[2].trim() });
    }
    return trailers;
}
/** The first value of a trailer, or undefined. */
function trailer(message, key) {
    return parseTrailers(message).find((t) => t.key.toLowerCase() === key.toLowerCase())?.value;
}
/** The kind of gitops commit from its subject: `release`, `promote`, `rollback`, `unpin`, `retire`. */
function commitKind(message) {
    return /^(release|promote|rollback|unpin|retire)\(/.exec(message)?.[1];
}

;// CONCATENATED MODULE: ./src/lib/gitops/history.ts


/**
 * The history of `path`, newest first, fetching more of a shallow clone until `enough` says it has what
 * it needs or the whole history is here.
 */
async function pathHistory(git, path, enough) {
    let depth = 50;
    for (;;) {
        const boundary = await git.shallowBoundary();
        const commits = (await git.history(path)).filter((c) => !boundary.has(c.hash));
        if (enough(commits))
            return commits;
        if (!(await git.deepen(depth)))
            return commits;
        depth *= 2;
    }
}
/** The newest rollback commit of `path`: the one that pinned it. */
async function findPinCommit(git, path) {
    const isPin = (c) => commitKind(c.message) === 'rollback';
    const commits = await pathHistory(git, `${path}/${RELEASE_FILE}`, (cs) => cs.some(isPin));
    return commits.find(isPin);
}
/** True for commits that put a new release in place (not rollbacks, unpins or retirements). */
function isReleaseCommit(c) {
    const kind = commitKind(c.message);
    return kind === 'release' || kind === 'promote';
}
/** The release commit a rollback restored (its `Rollback-To:` trailer). */
function rollbackTarget(c) {
    return commitKind(c.message) === 'rollback' ? trailer(c.message, TRAILERS.rollbackTo) : undefined;
}

;// CONCATENATED MODULE: ./src/lib/gitops/safe-path.ts
/**
 * Paths inside a clone of the gitops repo, checked before anything is read, deleted or written there.
 * Anyone who can push to the gitops repo can commit a symlink (`releases -> /home/runner`); following it
 * would make a publish delete and write files on the runner, outside the clone, before git refuses the
 * pathspec. So every component on the way is `lstat`ed from the clone's root: a symlink is refused by
 * name, and the path must resolve inside the clone.
 */



/**
 * Resolves `path` (repo-relative, with `/`) under the clone `root` and returns the absolute path. Throws a
 * ConfigurationError naming the component (repo-relative) that is a symlink, or that is not a folder
 * where one is needed. Components that do not exist yet are fine: they are created as real folders.
 */
async function safeRepoPath(root, path, leaf = 'folder') {
    const full = (0,external_node_path_namespaceObject.resolve)(root, path);
    const rel = (0,external_node_path_namespaceObject.relative)((0,external_node_path_namespaceObject.resolve)(root), full);
    if (rel === '' || rel.startsWith('..') || (0,external_node_path_namespaceObject.isAbsolute)(rel)) {
        throw new errors_ConfigurationError(`${path} does not lie inside the gitops repo`);
    }
    const parts = rel.split(/[\\/]/);
    for (let i = 0; i < parts.length; i++) {
        const shown = parts.slice(0, i + 1).join('/');
        let stat;
        try {
            stat = await external_node_fs_namespaceObject.promises.lstat((0,external_node_path_namespaceObject.resolve)(root, ...parts.slice(0, i + 1)));
        }
        catch (error) {
            if (error.code === 'ENOENT')
                return full;
            throw error;
        }
        if (stat.isSymbolicLink()) {
            throw new errors_ConfigurationError(`${shown} is a symbolic link in the gitops repo; refusing to read or write through it ` +
                `(it could point outside the repo): replace it with a real ${i < parts.length - 1 || leaf === 'folder' ? 'folder' : 'file'} in git`);
        }
        const last = i === parts.length - 1;
        if (!last || leaf === 'folder') {
            if (!stat.isDirectory()) {
                throw new errors_ConfigurationError(`${shown} in the gitops repo is not a folder; the releases/<env>/<app>/ layout needs one there`);
            }
        }
        else if (!stat.isFile()) {
            throw new errors_ConfigurationError(`${shown} in the gitops repo is not a regular file`);
        }
    }
    return full;
}

;// CONCATENATED MODULE: ./src/lib/gitops/release.ts
/** `release.json`: what a release folder holds, read by publish, rollback and the agent. */




/**
 * Reads `<folder>/release.json` of the clone at `root` (`folder` repo-relative); undefined when there is
 * none. A symlink anywhere on the way, the file itself included, is refused by name before it is read.
 */
async function readRelease(root, folder) {
    const name = `${folder}/${RELEASE_FILE}`;
    const file = await safeRepoPath(root, name, 'file');
    if (!(0,external_node_fs_namespaceObject.existsSync)(file))
        return undefined;
    return parseRelease(await external_node_fs_namespaceObject.promises.readFile(file, 'utf8'), name);
}
/**
 * Checks and reads the text of a release file; `file` names it in the error. The error says what is
 * wrong, never the text: a release file may be a symlink's target or hold anything.
 */
function parseRelease(text, file) {
    let value;
    try {
        value = JSON.parse(text);
    }
    catch {
        // JSON.parse's message quotes the text: not shown.
        throw new errors_ConfigurationError(`${file} is not a valid release file: it is not JSON`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new errors_ConfigurationError(`${file} is not a valid release file: it is not a JSON object`);
    }
    const info = value;
    if (typeof info.version !== 'string' || typeof info.digest !== 'string') {
        throw new errors_ConfigurationError(`${file} is not a valid release file: 'version' and 'digest' must be strings`);
    }
    return info;
}
/** The file's text: keys in a fixed order, two-space indent, a final newline. */
function releaseText(info) {
    const ordered = [
        'app',
        'env',
        'version',
        'digest',
        'objects',
        'sourceRepo',
        'sourceCommit',
        'sourceCommitTime',
        'sourceRun',
        'releasedBy',
        'kustomizeVersion',
        'releasedAt',
        'promotedFrom',
        'pinned',
        'retired',
    ];
    const out = {};
    for (const key of ordered)
        if (info[key] !== undefined)
            out[key] = info[key];
    return `${JSON.stringify(out, null, 2)}\n`;
}
/** A short description for messages: `1.4.2 (source abc1234, released 2026-…)`. */
function describeRelease(info) {
    const source = info.sourceCommit ? `source ${info.sourceCommit.slice(0, 12)}, ` : '';
    return `${info.version} (${source}released ${info.releasedAt}${info.releasedBy ? ` by ${info.releasedBy}` : ''})`;
}

;// CONCATENATED MODULE: ./src/lib/gitops/release-content.ts
/**
 * What a publish puts in place (a release, a promotion or a retirement): the objects and release.json of
 * the folder `releases/<env>/<app>/`, written out, and the commit message that says so.
 */









/** The content for the request: the rendered objects, a copy of `fromEnv`'s release, or a retirement. */
async function contentFor(options, git, rendered, current, now) {
    const base = {
        app: options.app,
        env: options.env,
        releasedAt: now,
        releasedBy: options.releasedBy,
    };
    if (rendered) {
        const objects = rendered.map((m) => m.object);
        return {
            kind: 'release',
            objects,
            files: rendered,
            info: {
                ...base,
                version: options.version,
                digest: manifestsDigest(objects),
                objects: objects.length,
                sourceRepo: options.source.repo,
                sourceCommit: options.source.commit,
                sourceCommitTime: options.source.commitTime,
                sourceRun: options.source.run,
                kustomizeVersion: options.kustomizeVersion,
            },
        };
    }
    if (options.fromEnv) {
        const fromPath = releasePath(options.fromEnv, options.app);
        const fromDir = await safeRepoPath(git.dir, fromPath);
        const from = await readRelease(git.dir, fromPath);
        if (!from || from.retired) {
            throw new errors_ConfigurationError(`cannot promote: ${fromPath} holds no release of ${options.app}`);
        }
        // First: the folder holds regular *.yaml files only (a symlinked file is refused), then their bytes.
        const docs = await readManifestFolder(fromDir, { skip: [RELEASE_FILE] });
        const names = (await external_node_fs_namespaceObject.promises.readdir(fromDir))
            .filter((n) => n !== RELEASE_FILE && !n.startsWith('.'))
            .sort();
        const files = await Promise.all(names.map(async (file) => ({ file, yaml: await external_node_fs_namespaceObject.promises.readFile((0,external_node_path_namespaceObject.join)(fromDir, file), 'utf8') })));
        const objects = validateManifests(docs, { allowSecrets: options.allowSecrets }).map((m) => m.object);
        if (manifestsDigest(objects) !== from.digest) {
            throw new errors_ConfigurationError(`cannot promote: the objects in ${releasePath(options.fromEnv, options.app)} do not match its release.json digest (edited by hand?)`);
        }
        const { pinned: _pinned, ...copied } = from;
        return {
            kind: 'promote',
            objects,
            files,
            info: {
                ...copied,
                ...base,
                releasedBy: options.releasedBy ?? from.releasedBy,
                promotedFrom: options.fromEnv,
            },
        };
    }
    // Retire: an empty release that says so, and the agent prunes the app's objects on purpose. Once
    // retired, retiring again removes the folder.
    return {
        kind: 'retire',
        remove: current?.retired === true,
        objects: [],
        files: [],
        info: {
            ...base,
            version: current?.version ?? options.version ?? 'retired',
            digest: manifestsDigest([]),
            objects: 0,
            retired: true,
        },
    };
}
/** Replaces the folder with the content (or removes it). */
async function writeFolder(dir, content) {
    await external_node_fs_namespaceObject.promises.rm(dir, { recursive: true, force: true });
    if (content.remove)
        return;
    await external_node_fs_namespaceObject.promises.mkdir(dir, { recursive: true });
    await Promise.all(content.files.map((f) => external_node_fs_namespaceObject.promises.writeFile((0,external_node_path_namespaceObject.join)(dir, f.file), f.yaml)));
    await external_node_fs_namespaceObject.promises.writeFile((0,external_node_path_namespaceObject.join)(dir, RELEASE_FILE), releaseText(content.info));
}
/** The commit message: what happened in the subject, `notes` (what force overrode) in the body, trailers. */
function messageFor(options, content, notes) {
    const { env, app, version } = content.info;
    const subject = content.kind === 'promote'
        ? `promote(${options.fromEnv}→${env}/${app}): ${version}`
        : content.remove
            ? `retire(${env}/${app}): removed`
            : `${content.kind}(${env}/${app}): ${version}`;
    const trailers = releaseTrailers({
        app,
        env,
        version,
        digest: content.info.digest,
        sourceRepo: content.info.sourceRepo,
        sourceCommit: content.info.sourceCommit,
        sourceRun: content.info.sourceRun,
        promotedFrom: content.kind === 'promote' ? options.fromEnv : undefined,
        releasedBy: content.info.releasedBy,
    });
    return commitMessage(subject, [options.message ?? '', ...notes].filter(Boolean).join('\n\n'), trailers);
}

;// CONCATENATED MODULE: ./src/lib/gitops/transaction.ts
/**
 * One change to the gitops repo, made safely when many pipelines push at once: clone shallowly, let the
 * caller stage its change, commit, push. A push rejected because the branch moved fetches the new tip,
 * resets to it and asks the caller to apply the change again there (a shallow clone is never rebased:
 * git would replay the shallow boundary and report false conflicts), with bounded, jittered backoff.
 * Nothing is ever force-pushed to the target branch; in pull-request mode the change goes to the tool's
 * own branch with a lease instead.
 */










/** A transaction's result with its commit, change, attempts and pull request beside it. */
function outcome(tx) {
    const { commit, changed, attempts, pullRequestUrl } = tx;
    return { ...tx.result, commit, changed, attempts, pullRequestUrl };
}
/**
 * Runs `apply` on a fresh clone of the target branch and pushes what it staged; on a rejected push, again
 * on the new tip. `apply` must stage the full change from the work tree's current state every time it is
 * called (it may be called once per attempt) and may throw to refuse (e.g. a downgrade).
 */
async function commitToGitops(options, log, apply) {
    if (options.maxAttempts < 1)
        throw new errors_ConfigurationError('max-attempts must be at least 1');
    const work = await external_node_fs_namespaceObject.promises.mkdtemp((0,external_node_path_namespaceObject.join)(options.tempDir ?? (0,external_node_os_namespaceObject.tmpdir)(), 'gitops-repo-'));
    // A run stopped by a signal still removes the clone.
    const unregister = registerTempDir(work);
    let git;
    try {
        git = await GitClient.clone({
            url: options.url,
            dir: work,
            branch: options.branch,
            depth: options.depth ?? 1,
            auth: options.auth,
            timeoutMs: options.gitTimeoutMs,
        }, log);
        const branch = options.branch ?? (await git.branch());
        const target = options.mode === 'pull-request' ? options.prBranch : branch;
        // Full jitter from 500 ms up to 4 s: contending pipelines spread out instead of colliding again.
        const backoff = new Backoff({ baseMs: 500, capMs: 4000, jitter: 'full' });
        for (let attempt = 1;; attempt++) {
            const planned = await apply(git, attempt);
            if (!planned.commit) {
                return { result: planned.result, changed: false, branch, attempts: attempt };
            }
            const commit = await git.commit(planned.message, options.author);
            log.info(`Committed ${commit.slice(0, 12)}: ${planned.message.split('\n')[0]}`);
            if (options.dryRun) {
                log.info(`dry-run: not pushing to ${redactUrl(options.url)} ${target}`);
                return { result: planned.result, changed: true, commit, branch, attempts: attempt };
            }
            try {
                if (options.mode === 'pull-request') {
                    // Our own branch: replace it, but only if nobody moved it since we looked.
                    const lease = (await git.remoteBranchCommit(target)) ?? '';
                    await git.push(target, { lease });
                }
                else {
                    await git.push(target);
                }
                log.info(`Pushed ${commit.slice(0, 12)} to ${target} (attempt ${attempt})`);
                return {
                    result: planned.result,
                    changed: true,
                    commit,
                    pushedTo: target,
                    branch,
                    attempts: attempt,
                };
            }
            catch (error) {
                if (!(error instanceof PushRejectedError))
                    throw error;
                if (attempt >= options.maxAttempts) {
                    throw new Error(`push to ${target} was rejected ${attempt} times (others kept pushing first); ` +
                        `nothing was changed — run the job again, or raise max-attempts`);
                }
                const wait = backoff.next();
                log.info(`Push rejected: ${target} moved. Re-applying on the new tip in ${wait} ms (attempt ${attempt + 1}/${options.maxAttempts})`);
                await concurrency_sleep(wait);
                await git.resetToRemote(branch);
            }
        }
    }
    finally {
        await git?.dispose();
        await external_node_fs_namespaceObject.promises.rm(work, { recursive: true, force: true });
        unregister();
    }
}
/**
 * A change to one env/app: `commitToGitops`, then in pull-request mode the one pull (or merge) request
 * of the tool's branch `gitops/<env>/<app>` opened or updated, titled by `describe`.
 */
async function commitReleaseChange(options, target, log, apply, describe) {
    const prBranch = `gitops/${target.env}/${target.app}`;
    const tx = await commitToGitops({
        url: options.repository,
        branch: options.branch,
        auth: options.auth,
        author: options.author,
        mode: options.mode,
        prBranch,
        maxAttempts: options.maxAttempts,
        dryRun: options.dryRun,
        gitTimeoutMs: options.gitTimeoutMs,
        tempDir: options.tempDir,
    }, log, apply);
    if (!tx.changed || options.mode !== 'pull-request' || options.dryRun)
        return tx;
    if (!options.pullRequest) {
        throw new errors_ConfigurationError('pull-request mode needs the git host API (token and repository)');
    }
    const pullRequestUrl = await openPullRequest(options.pullRequest, { head: prBranch, base: tx.branch, ...describe(tx.result) }, log);
    return { ...tx, pullRequestUrl };
}

;// CONCATENATED MODULE: ./src/lib/gitops/version.ts
/**
 * Release versions: SemVer 2.0 after stripping a leading `v` (pre-releases order before their release,
 * build metadata is ignored). A version that is not SemVer (a commit SHA, a date) compares by the time of
 * its source commit, and without one, by the order of publishes in the gitops repo.
 */
const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/;
function parseSemVer(version) {
    const m = SEMVER.exec(version);
    if (!m)
        return undefined;
    return { major: +m[1], minor: +m[2], patch: +m[3], pre: m[4] ? m[4].split('.') : [] };
}
function compareSemVer(a, b) {
    for (const key of ['major', 'minor', 'patch']) {
        if (a[key] !== b[key])
            return a[key] < b[key] ? -1 : 1;
    }
    if (a.pre.length === 0 || b.pre.length === 0)
        return b.pre.length - a.pre.length;
    for (let i = 0; i < Math.max(a.pre.length, b.pre.length); i++) {
        if (i >= a.pre.length)
            return -1;
        if (i >= b.pre.length)
            return 1;
        const x = a.pre[i];
        const y = b.pre[i];
        if (x === y)
            continue;
        const xn = /^\d+$/.test(x);
        const yn = /^\d+$/.test(y);
        if (xn && yn)
            return +x < +y ? -1 : 1;
        if (xn !== yn)
            return xn ? -1 : 1;
        return x < y ? -1 : 1;
    }
    return 0;
}
/**
 * Orders two releases: negative when `a` is older, positive when newer, 0 only when they are the same
 * version (the same string); undefined when nothing here orders them. Two SemVer versions of different
 * precedence compare as SemVer; otherwise two source commit times decide. Two different version strings
 * are never the same version: a caller that gets undefined orders them by the gitops repo's own history
 * (the release being published now is the newer one).
 */
function compareReleases(a, b) {
    if (a.version === b.version)
        return 0;
    const sa = parseSemVer(a.version);
    const sb = parseSemVer(b.version);
    if (sa && sb) {
        const c = compareSemVer(sa, sb);
        if (c !== 0)
            return c;
        // Same precedence (a leading v, build metadata): the commit times may still tell them apart.
    }
    const ta = a.sourceCommitTime ? Date.parse(a.sourceCommitTime) : NaN;
    const tb = b.sourceCommitTime ? Date.parse(b.sourceCommitTime) : NaN;
    if (Number.isNaN(ta) || Number.isNaN(tb) || ta === tb)
        return undefined;
    return ta < tb ? -1 : 1;
}

;// CONCATENATED MODULE: ./src/lib/gitops/publish.ts
/**
 * `publish-release`: put an app's rendered manifests into the gitops repo under `releases/<env>/<app>/`
 * with `release.json`, commit with trailers and push; or promote the exact release of another env; or
 * retire the app.
 */













/**
 * A CI's clone URL may carry the job's token (GitLab's CI_REPOSITORY_URL,
 * `https://gitlab-ci-token:TOKEN@host/…`): release.json and the commit record only where the source lives.
 */
function withoutSourceCredentials(options, log) {
    const repo = options.source.repo;
    if (!repo)
        return options;
    const { url } = splitUrlCredentials(repo);
    if (url === repo)
        return options;
    log.warn("input 'source-repo' holds credentials (user info in the URL): they are left out of release.json and the commit; give the URL without them");
    return { ...options, source: { ...options.source, repo: url } };
}
/** Checks every input, then publishes. */
async function publishRelease(options, log) {
    const env = validateName('env', options.env);
    const app = validateName('app', options.app);
    if (options.fromEnv !== undefined)
        validateName('from-env', options.fromEnv);
    if (options.fromEnv === env)
        throw new errors_ConfigurationError(`input 'from-env' is the same as 'env' (${env})`);
    const modes = [
        options.manifests !== undefined,
        options.fromEnv !== undefined,
        options.retire,
    ].filter(Boolean);
    if (modes.length !== 1) {
        throw new errors_ConfigurationError("give exactly one of 'manifests' (publish), 'from-env' (promote) or 'retire: true' (remove the app)");
    }
    validateSourceCommit(options.source.commit);
    options = withoutSourceCredentials(options, log);
    // The manifests are read and validated before anything is cloned.
    let rendered;
    if (options.manifests !== undefined) {
        if (!options.version)
            throw new errors_ConfigurationError("input 'version' is required to publish manifests");
        const docs = await readManifestFolder(options.manifests);
        if (docs.length === 0) {
            throw new errors_ConfigurationError(`manifests folder ${options.manifests} holds no objects; to remove the app, publish with retire: true`);
        }
        const manifests = validateManifests(docs, { allowSecrets: options.allowSecrets });
        rendered = serializeManifests(manifests.map((m) => m.object));
    }
    // Without a given time, the source commit's own, from the checkout the step runs in.
    if (options.source.commit && !options.source.commitTime) {
        options = {
            ...options,
            source: { ...options.source, commitTime: await localCommitTime(options.source.commit) },
        };
    }
    const path = releasePath(env, app);
    const now = new Date().toISOString();
    const tx = await commitReleaseChange(options, { env, app }, log, async (git) => {
        // Checked before anything is read or written there: no symlink on the way out of the clone.
        const dir = await safeRepoPath(git.dir, path);
        const current = await readRelease(git.dir, path);
        const content = await contentFor(options, git, rendered, current, now);
        const result = {
            version: content.info.version,
            digest: content.info.digest,
            path,
            diff: { added: [], changed: [], removed: [] },
        };
        const notes = await check(options, git, path, content, current);
        if (options.mode === 'pull-request')
            await checkPendingRequest(options, git, path, content);
        if (notes === 'unchanged') {
            log.info(`${path} already holds ${describeRelease(current)}: nothing to publish`);
            // The outputs tell what is in place after the run: the release already there.
            return {
                commit: false,
                result: { ...result, version: current.version, digest: current.digest },
            };
        }
        const before = await folderObjects(dir, log);
        result.diff = diffObjects(before, content.objects);
        await writeFolder(dir, content);
        await git.addAll(path);
        if (!(await git.hasStagedChanges(path)))
            return { commit: false, result };
        return { commit: true, message: messageFor(options, content, notes), result };
    }, (result) => ({
        title: `${options.fromEnv ? 'promote' : options.retire ? 'retire' : 'release'}(${env}/${app}): ${result.version}`,
        body: `Release of \`${app}\` to \`${env}\`, version \`${result.version}\`.\n\nOpened by gitops-actions; a newer release updates this pull request.`,
    }));
    return outcome(tx);
}
// A git object id: SHA-1 (40) or SHA-256 (64), or an abbreviation of at least 7.
const COMMIT_ID = /^[0-9a-f]{7,64}$/i;
/**
 * The source commit ends up in release.json, where the agent reads it back into git-host API paths: only
 * a hex object id gets in. The value is not echoed (it may be anything, at any length).
 */
function validateSourceCommit(commit) {
    if (commit === undefined || COMMIT_ID.test(commit))
        return;
    throw new errors_ConfigurationError("input 'source-commit' (or GITHUB_SHA / CI_COMMIT_SHA) is not a commit id: " +
        'give the hexadecimal object id of the source commit, 7 to 64 characters');
}
/**
 * Compares the new content with the release in place. Returns `unchanged` when publishing would change
 * nothing, or notes for the commit body (what `force` overrode); throws on a refusal.
 */
async function check(options, git, path, content, current) {
    const notes = [];
    if (!current)
        return notes;
    if (current.pinned) {
        if (!options.force) {
            const pin = await findPinCommit(git, path);
            throw new errors_ConfigurationError(`${path} is pinned at ${current.version} by rollback ${pin ? pin.hash.slice(0, 12) : '(commit not found)'}` +
                ` (${current.pinned.reason}); publish with force: true to override, or unpin it first (command: unpin)`);
        }
        notes.push(`Forced: replaces the pinned rollback to ${current.version}.`);
    }
    // Retiring needs no ordering; nor does bringing back an app that was retired.
    if (content.kind === 'retire' || current.retired)
        return notes;
    const order = orderAgainst(content.info, current);
    if (order < 0) {
        if (!options.force) {
            throw new errors_ConfigurationError(`refusing to downgrade ${path}: it holds ${describeRelease(current)}, newer than ${content.info.version}; ` +
                `publish with force: true to override`);
        }
        notes.push(`Forced: downgrade from ${current.version}.`);
    }
    else if (order === 0) {
        if (current.digest === content.info.digest) {
            return current.pinned ? notes : 'unchanged';
        }
        if (!options.force) {
            throw new errors_ConfigurationError(`${path} already holds version ${current.version} with other manifests (digest ${current.digest}, ` +
                `now ${content.info.digest}): a rebuilt artifact under an old name? Give a new version, or force: true`);
        }
        notes.push(`Forced: replaces version ${current.version} with a different digest.`);
    }
    return notes;
}
/**
 * Orders the release being published against one already in the repo (or pending): SemVer, else both
 * source commit times; when neither orders two different versions, the repo's own history does, and the
 * publish happening now is the newer one. 0 only for the same version string.
 */
function orderAgainst(next, existing) {
    return (compareReleases({ version: next.version, sourceCommitTime: next.sourceCommitTime }, { version: existing.version, sourceCommitTime: existing.sourceCommitTime }) ?? 1);
}
/**
 * In pull-request mode, the tool's branch may hold a newer release that is waiting for review: replacing
 * it with an older one would let an old release be merged over it.
 */
async function checkPendingRequest(options, git, path, content) {
    const text = await git.remoteBranchFile(`gitops/${options.env}/${options.app}`, `${path}/${RELEASE_FILE}`);
    if (!text || content.kind === 'retire' || options.force)
        return;
    const pending = parseRelease(text, `${path}/${RELEASE_FILE} on branch gitops/${options.env}/${options.app}`);
    if (pending.retired)
        return;
    if (orderAgainst(content.info, pending) < 0) {
        throw new errors_ConfigurationError(`refusing to replace the pending pull request of ${path}: it holds ${describeRelease(pending)}, newer than ${content.info.version}; ` +
            `publish with force: true to override`);
    }
}

;// CONCATENATED MODULE: ./src/commands/command.ts
/** The outputs every command that writes to the gitops repo gives. */
function changeOutputs(r) {
    return {
        commit: r.commit ?? '',
        changed: String(r.changed),
        attempts: String(r.attempts),
        'pull-request-url': r.pullRequestUrl ?? '',
    };
}

;// CONCATENATED MODULE: ./src/commands/repo-inputs.ts
/** The inputs every command that writes to the gitops repo shares: where, how to log in, how to commit. */



/** `ssh-key`, or the content of the file `ssh-key-file` names (masked the same way); not both. */
function readSshKey(inputs) {
    const key = inputs.secret('ssh-key');
    if (inputs.optional('ssh-key-file') === undefined)
        return key;
    if (key !== undefined) {
        throw new errors_ConfigurationError('give ssh-key and ssh-key-file one at a time, not both');
    }
    return inputs.secretFile('ssh-key-file');
}
/** A positive whole number input, or its default. */
function wholeNumber(inputs, name, fallback, unit) {
    const value = Number(inputs.optional(name) ?? fallback);
    if (!Number.isSafeInteger(value) || value < 1) {
        throw new errors_ConfigurationError(`input '${name}' must be a whole number of ${unit}, at least 1`);
    }
    return value;
}
/** The repository options of every command that writes to the gitops repo (`git-timeout` in seconds). */
function readRepoInputs(inputs, env = process.env) {
    const token = inputs.secret('token');
    const sshKey = readSshKey(inputs);
    const ci = ciContext(env);
    const given = inputs.required('repository');
    const host = inputs.choice('git-host', ['github', 'gitlab']) ?? ci.host;
    const mode = inputs.choice('mode', ['push', 'pull-request']) ?? 'push';
    const maxAttempts = wholeNumber(inputs, 'max-attempts', '30', 'attempts');
    const gitTimeoutMs = wholeNumber(inputs, 'git-timeout', '300', 'seconds') * 1000;
    let pullRequest;
    if (mode === 'pull-request') {
        if (!token)
            throw new errors_ConfigurationError("input 'token' is required in pull-request mode (for the git host's API)");
        const apiUrl = inputs.optional('api-url') ??
            (host === 'gitlab' ? env.CI_API_V4_URL : env.GITHUB_API_URL) ??
            (host === 'gitlab' ? 'https://gitlab.com/api/v4' : 'https://api.github.com');
        pullRequest = { host, apiUrl, token, project: projectOf(given) };
    }
    const tokenUser = host === 'gitlab'
        ? token === env.CI_JOB_TOKEN
            ? 'gitlab-ci-token'
            : 'oauth2'
        : 'x-access-token';
    return {
        repository: repositoryUrl(given, sshKey !== undefined, ci),
        branch: inputs.optional('branch'),
        auth: { token, tokenUser, sshKey, knownHosts: inputs.text('known-hosts') },
        author: { name: inputs.required('author-name'), email: inputs.required('author-email') },
        mode,
        maxAttempts,
        dryRun: inputs.boolean('dry-run'),
        pullRequest,
        gitTimeoutMs,
        tempDir: ci.tempDir,
    };
}

;// CONCATENATED MODULE: ./src/commands/publish-release.ts





const publishReleaseCommand = {
    name: 'publish-release',
    getInputs: (inputs) => {
        const ci = ciContext();
        const sourceCommit = inputs.optional('source-commit') ?? ci.sourceCommit;
        return {
            ...readRepoInputs(inputs),
            env: inputs.required('env'),
            app: inputs.required('app'),
            manifests: inputs.optional('manifests'),
            version: inputs.optional('version'),
            source: {
                repo: inputs.optional('source-repo') ?? ci.sourceRepo,
                commit: sourceCommit,
                commitTime: inputs.optional('source-commit-time'),
                run: inputs.optional('source-run') ?? ci.sourceRun,
            },
            releasedBy: inputs.optional('released-by') ?? ci.actor,
            kustomizeVersion: inputs.optional('kustomize-version'),
            message: inputs.text('message'),
            fromEnv: inputs.optional('from-env'),
            force: inputs.boolean('force'),
            allowSecrets: inputs.boolean('allow-secrets'),
            retire: inputs.boolean('retire'),
        };
    },
    run: publishRelease,
    outputs: (r) => ({
        ...changeOutputs(r),
        version: r.version,
        digest: r.digest,
        'objects-added': r.diff.added.join(','),
        'objects-changed': r.diff.changed.join(','),
        'objects-removed': r.diff.removed.join(','),
    }),
    summary: (r) => [
        `### publish-release: \`${r.path}\` ${r.changed ? `→ ${r.version}` : `unchanged (${r.version})`}`,
        '',
        r.commit
            ? `Commit \`${r.commit}\` after ${r.attempts} attempt(s).`
            : 'No commit: the release is already in place.',
        r.pullRequestUrl ? `Pull request: ${r.pullRequestUrl}` : '',
        '',
        diffTable(r.diff),
    ].join('\n'),
};

;// CONCATENATED MODULE: ./src/lib/render.ts
/** `render`: kustomize an app's kustomization into plain, validated manifests. */






/** Runs kustomize, validates every object, and writes the folder and single-file forms. */
async function render(options, log) {
    // Everything the user gave is checked before kustomize runs or anything is written.
    const images = options.images.map(parseImageOverride);
    const outputDir = (0,external_node_path_namespaceObject.resolve)(options.outputDir);
    const outputFile = (0,external_node_path_namespaceObject.resolve)(options.outputFile ?? `${outputDir.replace(/\/+$/, '')}.yaml`);
    if (isInside(outputFile, outputDir)) {
        throw new errors_ConfigurationError(`output-file ${outputFile} is inside output-dir; it must be beside it`);
    }
    await checkReplaceableFile(outputFile);
    await checkReplaceableFolder(outputDir);
    if (isInside(outputDir, options.path) || isInside(options.path, outputDir)) {
        throw new errors_ConfigurationError(`output-dir ${outputDir} overlaps the kustomization at ${options.path}`);
    }
    const kustomize = resolveKustomize(options.kustomize);
    log.info(`Using ${kustomize.label}`);
    // The version query runs beside the build: each is a process start of the same binary.
    const [version, text] = await Promise.all([
        kustomizeVersion(kustomize),
        kustomizeBuild(kustomize, options.path, {
            images,
            namespace: options.namespace,
            flags: options.kustomizeFlags,
            timeoutMs: options.kustomizeTimeoutMs,
            memoryLimitMB: options.kustomizeMemoryLimitMB,
        }, log),
    ]);
    log.info(`kustomize ${version}`);
    const docs = parseManifestText(text, `kustomize output of ${options.path}`);
    const manifests = validateManifests(docs, { allowSecrets: options.allowSecrets });
    if (manifests.length === 0) {
        throw new errors_ConfigurationError(`kustomize produced no objects from ${options.path}`);
    }
    const objects = manifests.map((m) => m.object);
    const digest = manifestsDigest(objects);
    const serialized = serializeManifests(objects);
    await writeManifestFolder(outputDir, serialized);
    await writeFileAtomic(outputFile, manifestStream(serialized));
    log.info(`Rendered ${objects.length} objects into ${outputDir} and ${outputFile} (${digest})`);
    return {
        manifestsDir: outputDir,
        manifestsFile: outputFile,
        objects: objects.length,
        digest,
        kustomizeVersion: version,
        files: serialized.map((m) => m.file).sort(),
    };
}

;// CONCATENATED MODULE: ./src/commands/render.ts



const DEFAULTS = {
    'kustomize-timeout': DEFAULT_BUILD_TIMEOUT_MS / 1000,
    'kustomize-memory-limit': DEFAULT_BUILD_MEMORY_MB,
};
/** A number above 0 (the limits: 0 would mean none), its default when the input is empty. */
function positive(inputs, name, what) {
    const value = inputs.optional(name);
    if (value === undefined)
        return DEFAULTS[name];
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0))
        throw new errors_ConfigurationError(`input '${name}' must be ${what} greater than 0`);
    return n;
}
const renderCommand = {
    name: 'render',
    getInputs: (inputs) => ({
        path: inputs.required('path'),
        images: inputs.list('images'),
        outputDir: inputs.required('output-dir'),
        outputFile: inputs.optional('output-file'),
        namespace: inputs.optional('namespace'),
        kustomize: inputs.optional('kustomize'),
        kustomizeFlags: inputs.words('kustomize-flags'),
        kustomizeTimeoutMs: positive(inputs, 'kustomize-timeout', 'a number of seconds') * 1000,
        kustomizeMemoryLimitMB: positive(inputs, 'kustomize-memory-limit', 'a number of MiB'),
        allowSecrets: inputs.boolean('allow-secrets'),
    }),
    run: render,
    outputs: (r) => ({
        'manifests-dir': r.manifestsDir,
        'manifests-file': r.manifestsFile,
        objects: String(r.objects),
        digest: r.digest,
        'kustomize-version': r.kustomizeVersion,
    }),
    summary: (r) => [
        `### render: ${r.objects} objects`,
        '',
        `Digest \`${r.digest}\`, kustomize ${r.kustomizeVersion}.`,
        '',
        '| file |',
        '| --- |',
        ...r.files.map((f) => `| \`${f}\` |`),
        '',
    ].join('\n'),
};

;// CONCATENATED MODULE: ./src/lib/gitops/rollback.ts
/**
 * `rollback`: put one env/app back to an earlier release. The folder is restored exactly as it was at
 * the target release, in one commit whose `Reverts:` trailers list every commit it undoes: the same
 * result as `git revert` of each of them, newest first, without touching other apps and without needing
 * whole-commit reverts. The app is pinned so the next CI publish does not silently undo it.
 */











const sameVersion = (a, b) => a.replace(/^v/, '') === b.replace(/^v/, '');
/** The release commit whose content is in place now: the newest release, or what a later rollback restored. */
function currentRelease(commits) {
    for (const c of commits) {
        const restored = rollbackTarget(c);
        if (restored)
            return restored;
        if (isReleaseCommit(c))
            return c.hash;
    }
    return undefined;
}
/** Finds the target release commit for `to`, fetching more history while it is not found. */
async function findTarget(git, path, to) {
    const releaseFile = `${path}/${RELEASE_FILE}`;
    if (to === 'previous') {
        let found;
        await pathHistory(git, releaseFile, (commits) => {
            const current = currentRelease(commits);
            const releases = commits.filter(isReleaseCommit).map((c) => c.hash);
            const i = current ? releases.indexOf(current) : -1;
            found = i >= 0 ? releases[i + 1] : undefined;
            return found !== undefined;
        });
        if (!found)
            throw new errors_ConfigurationError(`${path} has no release before the current one to roll back to`);
        return found;
    }
    if (/^[0-9a-f]{7,40}$/i.test(to)) {
        let hash;
        await pathHistory(git, releaseFile, (commits) => {
            hash = commits.find((c) => c.hash.startsWith(to.toLowerCase()))?.hash;
            return hash !== undefined;
        });
        if (hash)
            return hash;
        if (!(await git.resolveCommit(to))) {
            throw new errors_ConfigurationError(`input 'to': commit ${to} is not in the history of the gitops repo`);
        }
        throw new errors_ConfigurationError(`input 'to': commit ${to} did not change ${path}; name a release commit of this app`);
    }
    let hash;
    await pathHistory(git, releaseFile, (commits) => {
        hash = commits.find((c) => isReleaseCommit(c) && sameVersion(trailer(c.message, TRAILERS.version) ?? '', to))?.hash;
        return hash !== undefined;
    });
    if (!hash)
        throw new errors_ConfigurationError(`input 'to': ${path} never had a release of version ${to}`);
    return hash;
}
async function rollback(options, log) {
    const env = validateName('env', options.env);
    const app = validateName('app', options.app);
    if (!options.to.trim())
        throw new errors_ConfigurationError("input 'to' is required (a commit, a version, or previous)");
    const path = releasePath(env, app);
    let chosen;
    const tx = await commitReleaseChange(options, { env, app }, log, async (git) => {
        // Checked before anything is read or written there: no symlink on the way out of the clone.
        const dir = await safeRepoPath(git.dir, path);
        const current = await readRelease(git.dir, path);
        if (!current) {
            if (!(0,external_node_fs_namespaceObject.existsSync)((0,external_node_path_namespaceObject.join)(git.dir, RELEASES_DIR, env))) {
                throw new errors_ConfigurationError(`the gitops repo has no env '${env}' (no ${RELEASES_DIR}/${env}/)`);
            }
            throw new errors_ConfigurationError(`${app} was never released to ${env} (no ${path}/${RELEASE_FILE})`);
        }
        // A retry (someone pushed first) keeps the target chosen on the first attempt, and only if the
        // release it rolls back from is still the one in place: `previous` must not move under it.
        if (chosen &&
            (chosen.from.version !== current.version || chosen.from.digest !== current.digest)) {
            throw new errors_ConfigurationError(`${path} changed while rolling back: it now holds ${describeRelease(current)}; nothing was rolled back — look again and rerun the rollback`);
        }
        const target = chosen?.target ?? (await findTarget(git, path, options.to.trim()));
        chosen = { target, from: { version: current.version, digest: current.digest } };
        const reverted = (await git.history(path, `${target}..HEAD`)).map((c) => c.hash);
        const before = await folderObjects(dir, log);
        await git.restorePath(target, path);
        // The old release may itself hold a symlink (a symlinked release.json): checked again, and
        // readRelease refuses one before release.json is read or rewritten.
        await safeRepoPath(git.dir, path);
        const restored = await readRelease(git.dir, path);
        if (!restored)
            throw new errors_ConfigurationError(`commit ${target} has no ${path}/${RELEASE_FILE}`);
        const { pinned: _oldPin, ...info } = restored;
        const pinned = options.pin
            ? {
                reason: options.reason || 'rollback',
                from: current.version,
                at: new Date().toISOString(),
            }
            : undefined;
        await external_node_fs_namespaceObject.promises.writeFile((0,external_node_path_namespaceObject.join)(dir, RELEASE_FILE), releaseText({ ...info, pinned }));
        const result = {
            version: restored.version,
            from: current.version,
            target,
            reverted,
            diff: diffObjects(before, await folderObjects(dir, log)),
        };
        await git.addAll(path);
        if (reverted.length === 0 || !(await git.hasStagedChanges(path))) {
            log.info(`${path} is already at ${restored.version} (${target.slice(0, 12)}): nothing to roll back`);
            return { commit: false, result };
        }
        const trailers = releaseTrailers({
            app,
            env,
            version: restored.version,
            sourceRepo: restored.sourceRepo,
            sourceCommit: restored.sourceCommit,
            sourceRun: restored.sourceRun,
            rollbackTo: target,
            reverts: reverted,
        });
        const body = [
            `Rolls ${app} in ${env} back from ${current.version} to ${restored.version}.`,
            options.reason ? `Reason: ${options.reason}` : '',
            options.pin
                ? 'Pinned: publish and promote refuse this app until it is unpinned (or forced).'
                : '',
        ]
            .filter(Boolean)
            .join('\n');
        return {
            commit: true,
            message: commitMessage(`rollback(${env}/${app}): ${restored.version}`, body, trailers),
            result,
        };
    }, (result) => ({
        title: `rollback(${env}/${app}): ${result.version}`,
        body: `Rolls \`${app}\` in \`${env}\` back from \`${result.from}\` to \`${result.version}\`.${options.reason ? `\n\nReason: ${options.reason}` : ''}`,
    }));
    return outcome(tx);
}

;// CONCATENATED MODULE: ./src/commands/rollback.ts




const rollbackCommand = {
    name: 'rollback',
    getInputs: (inputs) => ({
        ...readRepoInputs(inputs),
        env: inputs.required('env'),
        app: inputs.required('app'),
        to: inputs.required('to'),
        reason: inputs.text('reason'),
        pin: inputs.boolean('pin'),
    }),
    run: rollback,
    outputs: (r) => ({
        ...changeOutputs(r),
        version: r.version,
        'rolled-back-from': r.from,
        target: r.target,
        reverted: r.reverted.join(','),
    }),
    summary: (r) => [
        `### rollback: ${r.from} → ${r.version}`,
        '',
        r.commit
            ? `Commit \`${r.commit}\` restores release \`${r.target}\`.`
            : 'Nothing to roll back.',
        r.reverted.length
            ? `Reverts: ${r.reverted.map((h) => `\`${h.slice(0, 12)}\``).join(', ')}`
            : '',
        r.pullRequestUrl ? `Pull request: ${r.pullRequestUrl}` : '',
        '',
        diffTable(r.diff),
    ].join('\n'),
};

;// CONCATENATED MODULE: ./src/lib/gitops/unpin.ts
/** `unpin`: clear the pin a rollback set, in a commit of its own, so publishes go through again. */







async function unpin(options, log) {
    const env = validateName('env', options.env);
    const app = validateName('app', options.app);
    const path = releasePath(env, app);
    const tx = await commitToGitops({ ...options, url: options.repository, mode: 'push' }, log, async (git) => {
        // readRelease checks every component of the path (no symlink on the way) before reading it.
        const current = await readRelease(git.dir, path);
        const dir = (0,external_node_path_namespaceObject.join)(git.dir, path);
        if (!current)
            throw new errors_ConfigurationError(`${app} was never released to ${env} (no ${path}/${RELEASE_FILE})`);
        if (!current.pinned) {
            log.info(`${path} is not pinned: nothing to do`);
            return { commit: false, result: { version: current.version } };
        }
        const { pinned, ...info } = current;
        await external_node_fs_namespaceObject.promises.writeFile((0,external_node_path_namespaceObject.join)(dir, RELEASE_FILE), releaseText(info));
        await git.addAll(path);
        const message = commitMessage(`unpin(${env}/${app}): ${current.version}`, `Lifts the pin of the rollback from ${pinned.from} (${pinned.reason}); the next publish goes through.`, releaseTrailers({ app, env, version: current.version }));
        return { commit: true, message, result: { version: current.version } };
    });
    return outcome(tx);
}

;// CONCATENATED MODULE: ./src/commands/unpin.ts


const unpinCommand = {
    name: 'unpin',
    getInputs: (inputs) => ({
        ...readRepoInputs(inputs),
        env: inputs.required('env'),
        app: inputs.required('app'),
    }),
    run: unpin,
    outputs: (r) => ({ commit: r.commit ?? '', changed: String(r.changed), version: r.version }),
    summary: (r) => `### unpin: ${r.changed ? `unpinned at ${r.version}` : `not pinned (${r.version})`}\n`,
};

;// CONCATENATED MODULE: ./src/commands/registry.ts





const commands = {
    render: renderCommand,
    'publish-release': publishReleaseCommand,
    rollback: rollbackCommand,
    unpin: unpinCommand,
    'install-agent': installAgentCommand,
};
/** Other names a command answers to. */
const aliases = { publish: 'publish-release' };
function findCommand(name) {
    const target = Object.hasOwn(aliases, name) ? aliases[name] : name;
    return Object.hasOwn(commands, target) ? commands[target] : undefined;
}
/** Every name a command answers to, sorted. */
function commandNames() {
    return [...Object.keys(commands), ...Object.keys(aliases)].sort();
}

;// CONCATENATED MODULE: ./src/cli/args.ts
/**
 * Command-line arguments: `gitops-actions <command> --<input> value …`, with `GITOPS_<INPUT>` environment
 * variables as a fallback (`output-dir` → `GITOPS_OUTPUT_DIR`). A flag given twice builds a list.
 */

/** The environment variable that feeds an input. */
function envName(input) {
    return `GITOPS_${input.toUpperCase().replace(/-/g, '_')}`;
}
/**
 * Parses flags against the inputs a command knows, and `--dotenv FILE`. Only `booleans` may stand alone
 * (see `parseFlags`); a repeated input's values are joined a line each, as a list input reads them.
 */
function parseArgs(argv, known, booleans = new Set(), 
/** The position of argv[0] on the whole command line, for messages (the command word is 1). */
firstPosition = 1) {
    const flags = { dotenv: {} };
    for (const name of known)
        flags[name] = { boolean: booleans.has(name) };
    const parsed = parseFlags(argv, flags, firstPosition);
    const values = new Map();
    for (const [name, given] of parsed.values)
        if (name !== 'dotenv')
            values.set(name, given.join('\n'));
    return { values, help: parsed.help, dotenv: parsed.values.get('dotenv')?.at(-1) };
}

;// CONCATENATED MODULE: ./src/cli/help.ts
/** The CLI's --help texts, from each command's action.yml. */



const oneLine = (text) => text.replace(/\s+/g, ' ').trim();
function mainHelp() {
    const lines = [
        'Usage: gitops-actions <command> [--<input> value]... [--dotenv FILE]',
        '',
        'Commands:',
    ];
    for (const name of Object.keys(commands)) {
        const alias = Object.entries(aliases).find(([, target]) => target === name)?.[0];
        lines.push(`  ${(name + (alias ? ` (${alias})` : '')).padEnd(24)} ${specs[name].description}`);
    }
    lines.push('', "Run 'gitops-actions <command> --help' for a command's inputs.");
    lines.push('Every input can also be set as GITOPS_<INPUT> (e.g. GITOPS_OUTPUT_DIR).');
    return lines.join('\n');
}
function commandHelp(name, spec) {
    const lines = [
        `Usage: gitops-actions ${name} [--<input> value]... [--dotenv FILE]`,
        '',
        spec.description,
        '',
    ];
    lines.push('Inputs:');
    for (const [input, s] of Object.entries(spec.inputs)) {
        const extra = [
            s.required ? 'required' : '',
            s.default ? `default: ${s.default}` : '',
            envName(input),
        ]
            .filter(Boolean)
            .join('; ');
        lines.push(`  --${input}`, `      ${oneLine(s.description)} (${extra})`);
    }
    lines.push('', 'Outputs (printed as key=value):');
    for (const [output, s] of Object.entries(spec.outputs)) {
        lines.push(`  ${output.padEnd(20)} ${oneLine(s.description)}`);
    }
    lines.push('', '  --dotenv FILE        also write the outputs to FILE (GitLab artifacts:reports:dotenv)');
    return lines.join('\n');
}

;// CONCATENATED MODULE: ./src/cli/main.ts
/**
 * `gitops-actions <command> [--<input> value]…`: the actions as a command-line tool, for GitLab CI and
 * terminals. Outputs are printed as `key=value` lines and, with `--dotenv FILE`, written there too (for
 * GitLab's `artifacts:reports:dotenv`). Logs go to stderr, so stdout holds only outputs.
 */





const USAGE = 2;
/** Runs the CLI; returns the process exit code. */
async function main(argv, env = process.env) {
    const [name, ...rest] = argv;
    if (!name || name === '--help' || name === '-h' || name === 'help') {
        process.stdout.write(`${mainHelp()}\n`);
        return name ? 0 : USAGE;
    }
    const command = findCommand(name);
    if (!command) {
        // The word is quoted only when it looks like a command name: it may be a misplaced secret.
        const shown = /^[a-z][a-z0-9-]{0,40}$/.test(name) ? `'${name}'` : '(argument 1)';
        process.stderr.write(`gitops-actions: unknown command ${shown}\n\n${mainHelp()}\n`);
        return USAGE;
    }
    const spec = specOf(command);
    let parsed;
    try {
        // Positions in messages count from the command word, as the user typed them.
        parsed = parseArgs(rest, new Set(Object.keys(spec.inputs)), booleanInputs(spec), 2);
    }
    catch (error) {
        process.stderr.write(`gitops-actions ${command.name}: ${failure(error).message}\n`);
        return USAGE;
    }
    if (parsed.help) {
        process.stdout.write(`${commandHelp(command.name, spec)}\n`);
        return 0;
    }
    const debug = env.GITOPS_DEBUG === 'true';
    const secrets = [];
    try {
        const { outputs } = await runCommand(command, {
            get: (input) => parsed.values.get(input) ?? env[envName(input)],
            mask: (s) => secrets.push(s),
        }, consoleLogger({ debug: debug || env.RUNNER_DEBUG === '1' }));
        const lines = Object.entries(outputs).map(([k, v]) => `${k}=${v.replace(/\n/g, '\\n')}\n`);
        process.stdout.write(lines.join(''));
        if (parsed.dotenv)
            await external_node_fs_namespaceObject.promises.writeFile(parsed.dotenv, lines.join(''));
        return 0;
    }
    catch (error) {
        const { message, stack } = failure(error);
        const redacted = secrets.reduce((text, s) => text.replaceAll(s, '***'), message);
        process.stderr.write(`gitops-actions ${command.name}: ${redacted}\n`);
        if (stack && debug)
            process.stderr.write(`${stack}\n`);
        return 1;
    }
}


/***/ }),

/***/ 2613:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("assert");

/***/ }),

/***/ 181:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("buffer");

/***/ }),

/***/ 4434:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("events");

/***/ }),

/***/ 9896:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("fs");

/***/ }),

/***/ 8611:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("http");

/***/ }),

/***/ 5692:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("https");

/***/ }),

/***/ 9278:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("net");

/***/ }),

/***/ 4589:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:assert");

/***/ }),

/***/ 6698:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:async_hooks");

/***/ }),

/***/ 4573:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:buffer");

/***/ }),

/***/ 7540:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:console");

/***/ }),

/***/ 7598:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");

/***/ }),

/***/ 3053:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:diagnostics_channel");

/***/ }),

/***/ 610:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:dns");

/***/ }),

/***/ 8474:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:events");

/***/ }),

/***/ 7067:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:http");

/***/ }),

/***/ 2467:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:http2");

/***/ }),

/***/ 7030:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:net");

/***/ }),

/***/ 643:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:perf_hooks");

/***/ }),

/***/ 1792:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:querystring");

/***/ }),

/***/ 7075:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:stream");

/***/ }),

/***/ 1692:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:tls");

/***/ }),

/***/ 3136:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:url");

/***/ }),

/***/ 7975:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util");

/***/ }),

/***/ 3429:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util/types");

/***/ }),

/***/ 5919:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:worker_threads");

/***/ }),

/***/ 8522:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:zlib");

/***/ }),

/***/ 857:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("os");

/***/ }),

/***/ 932:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("process");

/***/ }),

/***/ 3193:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("string_decoder");

/***/ }),

/***/ 4756:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("tls");

/***/ }),

/***/ 9023:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("util");

/***/ }),

/***/ 7349:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var Scalar = __nccwpck_require__(3301);
var YAMLMap = __nccwpck_require__(4454);
var YAMLSeq = __nccwpck_require__(2223);
var resolveBlockMap = __nccwpck_require__(7103);
var resolveBlockSeq = __nccwpck_require__(334);
var resolveFlowCollection = __nccwpck_require__(3142);

function resolveCollection(CN, ctx, token, onError, tagName, tag) {
    const coll = token.type === 'block-map'
        ? resolveBlockMap.resolveBlockMap(CN, ctx, token, onError, tag)
        : token.type === 'block-seq'
            ? resolveBlockSeq.resolveBlockSeq(CN, ctx, token, onError, tag)
            : resolveFlowCollection.resolveFlowCollection(CN, ctx, token, onError, tag);
    const Coll = coll.constructor;
    // If we got a tagName matching the class, or the tag name is '!',
    // then use the tagName from the node class used to create it.
    if (tagName === '!' || tagName === Coll.tagName) {
        coll.tag = Coll.tagName;
        return coll;
    }
    if (tagName)
        coll.tag = tagName;
    return coll;
}
function composeCollection(CN, ctx, token, props, onError) {
    const tagToken = props.tag;
    const tagName = !tagToken
        ? null
        : ctx.directives.tagName(tagToken.source, msg => onError(tagToken, 'TAG_RESOLVE_FAILED', msg));
    if (token.type === 'block-seq') {
        const { anchor, newlineAfterProp: nl } = props;
        const lastProp = anchor && tagToken
            ? anchor.offset > tagToken.offset
                ? anchor
                : tagToken
            : (anchor ?? tagToken);
        if (lastProp && (!nl || nl.offset < lastProp.offset)) {
            const message = 'Missing newline after block sequence props';
            onError(lastProp, 'MISSING_CHAR', message);
        }
    }
    const expType = token.type === 'block-map'
        ? 'map'
        : token.type === 'block-seq'
            ? 'seq'
            : token.start.source === '{'
                ? 'map'
                : 'seq';
    // shortcut: check if it's a generic YAMLMap or YAMLSeq
    // before jumping into the custom tag logic.
    if (!tagToken ||
        !tagName ||
        tagName === '!' ||
        (tagName === YAMLMap.YAMLMap.tagName && expType === 'map') ||
        (tagName === YAMLSeq.YAMLSeq.tagName && expType === 'seq')) {
        return resolveCollection(CN, ctx, token, onError, tagName);
    }
    let tag = ctx.schema.tags.find(t => t.tag === tagName && t.collection === expType);
    if (!tag) {
        const kt = ctx.schema.knownTags[tagName];
        if (kt?.collection === expType) {
            ctx.schema.tags.push(Object.assign({}, kt, { default: false }));
            tag = kt;
        }
        else {
            if (kt) {
                onError(tagToken, 'BAD_COLLECTION_TYPE', `${kt.tag} used for ${expType} collection, but expects ${kt.collection ?? 'scalar'}`, true);
            }
            else {
                onError(tagToken, 'TAG_RESOLVE_FAILED', `Unresolved tag: ${tagName}`, true);
            }
            return resolveCollection(CN, ctx, token, onError, tagName);
        }
    }
    const coll = resolveCollection(CN, ctx, token, onError, tagName, tag);
    const res = tag.resolve?.(coll, msg => onError(tagToken, 'TAG_RESOLVE_FAILED', msg), ctx.options) ?? coll;
    const node = identity.isNode(res)
        ? res
        : new Scalar.Scalar(res);
    node.range = coll.range;
    node.tag = tagName;
    if (tag?.format)
        node.format = tag.format;
    return node;
}

exports.composeCollection = composeCollection;


/***/ }),

/***/ 3683:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Document = __nccwpck_require__(3021);
var composeNode = __nccwpck_require__(5937);
var resolveEnd = __nccwpck_require__(7788);
var resolveProps = __nccwpck_require__(4631);

function composeDoc(options, directives, { offset, start, value, end }, onError) {
    const opts = Object.assign({ _directives: directives }, options);
    const doc = new Document.Document(undefined, opts);
    const ctx = {
        atKey: false,
        atRoot: true,
        directives: doc.directives,
        options: doc.options,
        schema: doc.schema
    };
    const props = resolveProps.resolveProps(start, {
        indicator: 'doc-start',
        next: value ?? end?.[0],
        offset,
        onError,
        parentIndent: 0,
        startOnNewline: true
    });
    if (props.found) {
        doc.directives.docStart = true;
        if (value &&
            (value.type === 'block-map' || value.type === 'block-seq') &&
            !props.hasNewline)
            onError(props.end, 'MISSING_CHAR', 'Block collection cannot start on same line with directives-end marker');
    }
    // @ts-expect-error If Contents is set, let's trust the user
    doc.contents = value
        ? composeNode.composeNode(ctx, value, props, onError)
        : composeNode.composeEmptyNode(ctx, props.end, start, null, props, onError);
    const contentEnd = doc.contents.range[2];
    const re = resolveEnd.resolveEnd(end, contentEnd, false, onError);
    if (re.comment)
        doc.comment = re.comment;
    doc.range = [offset, contentEnd, re.offset];
    return doc;
}

exports.composeDoc = composeDoc;


/***/ }),

/***/ 5937:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Alias = __nccwpck_require__(4065);
var identity = __nccwpck_require__(1127);
var composeCollection = __nccwpck_require__(7349);
var composeScalar = __nccwpck_require__(5413);
var resolveEnd = __nccwpck_require__(7788);
var utilEmptyScalarPosition = __nccwpck_require__(2599);

const CN = { composeNode, composeEmptyNode };
function composeNode(ctx, token, props, onError) {
    const atKey = ctx.atKey;
    const { spaceBefore, comment, anchor, tag } = props;
    let node;
    let isSrcToken = true;
    switch (token.type) {
        case 'alias':
            node = composeAlias(ctx, token, onError);
            if (anchor || tag)
                onError(token, 'ALIAS_PROPS', 'An alias node must not specify any properties');
            break;
        case 'scalar':
        case 'single-quoted-scalar':
        case 'double-quoted-scalar':
        case 'block-scalar':
            node = composeScalar.composeScalar(ctx, token, tag, onError);
            if (anchor)
                node.anchor = anchor.source.substring(1);
            break;
        case 'block-map':
        case 'block-seq':
        case 'flow-collection':
            try {
                node = composeCollection.composeCollection(CN, ctx, token, props, onError);
                if (anchor)
                    node.anchor = anchor.source.substring(1);
            }
            catch (error) {
                // Almost certainly here due to a stack overflow
                const message = error instanceof Error ? error.message : String(error);
                onError(token, 'RESOURCE_EXHAUSTION', message);
            }
            break;
        default: {
            const message = token.type === 'error'
                ? token.message
                : `Unsupported token (type: ${token.type})`;
            onError(token, 'UNEXPECTED_TOKEN', message);
            isSrcToken = false;
        }
    }
    node ?? (node = composeEmptyNode(ctx, token.offset, undefined, null, props, onError));
    if (anchor && node.anchor === '')
        onError(anchor, 'BAD_ALIAS', 'Anchor cannot be an empty string');
    if (atKey &&
        ctx.options.stringKeys &&
        (!identity.isScalar(node) ||
            typeof node.value !== 'string' ||
            (node.tag && node.tag !== 'tag:yaml.org,2002:str'))) {
        const msg = 'With stringKeys, all keys must be strings';
        onError(tag ?? token, 'NON_STRING_KEY', msg);
    }
    if (spaceBefore)
        node.spaceBefore = true;
    if (comment) {
        if (token.type === 'scalar' && token.source === '')
            node.comment = comment;
        else
            node.commentBefore = comment;
    }
    // @ts-expect-error Type checking misses meaning of isSrcToken
    if (ctx.options.keepSourceTokens && isSrcToken)
        node.srcToken = token;
    return node;
}
function composeEmptyNode(ctx, offset, before, pos, { spaceBefore, comment, anchor, tag, end }, onError) {
    const token = {
        type: 'scalar',
        offset: utilEmptyScalarPosition.emptyScalarPosition(offset, before, pos),
        indent: -1,
        source: ''
    };
    const node = composeScalar.composeScalar(ctx, token, tag, onError);
    if (anchor) {
        node.anchor = anchor.source.substring(1);
        if (node.anchor === '')
            onError(anchor, 'BAD_ALIAS', 'Anchor cannot be an empty string');
    }
    if (spaceBefore)
        node.spaceBefore = true;
    if (comment) {
        node.comment = comment;
        node.range[2] = end;
    }
    return node;
}
function composeAlias({ options }, { offset, source, end }, onError) {
    const alias = new Alias.Alias(source.substring(1));
    if (alias.source === '')
        onError(offset, 'BAD_ALIAS', 'Alias cannot be an empty string');
    if (alias.source.endsWith(':'))
        onError(offset + source.length - 1, 'BAD_ALIAS', 'Alias ending in : is ambiguous', true);
    const valueEnd = offset + source.length;
    const re = resolveEnd.resolveEnd(end, valueEnd, options.strict, onError);
    alias.range = [offset, valueEnd, re.offset];
    if (re.comment)
        alias.comment = re.comment;
    return alias;
}

exports.composeEmptyNode = composeEmptyNode;
exports.composeNode = composeNode;


/***/ }),

/***/ 5413:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var Scalar = __nccwpck_require__(3301);
var resolveBlockScalar = __nccwpck_require__(8913);
var resolveFlowScalar = __nccwpck_require__(6842);

function composeScalar(ctx, token, tagToken, onError) {
    const { value, type, comment, range } = token.type === 'block-scalar'
        ? resolveBlockScalar.resolveBlockScalar(ctx, token, onError)
        : resolveFlowScalar.resolveFlowScalar(token, ctx.options.strict, onError);
    const tagName = tagToken
        ? ctx.directives.tagName(tagToken.source, msg => onError(tagToken, 'TAG_RESOLVE_FAILED', msg))
        : null;
    let tag;
    if (ctx.options.stringKeys && ctx.atKey) {
        tag = ctx.schema[identity.SCALAR];
    }
    else if (tagName)
        tag = findScalarTagByName(ctx.schema, value, tagName, tagToken, onError);
    else if (token.type === 'scalar')
        tag = findScalarTagByTest(ctx, value, token, onError);
    else
        tag = ctx.schema[identity.SCALAR];
    let scalar;
    try {
        const res = tag.resolve(value, msg => onError(tagToken ?? token, 'TAG_RESOLVE_FAILED', msg), ctx.options);
        scalar = identity.isScalar(res) ? res : new Scalar.Scalar(res);
    }
    catch (error) {
        const msg = error instanceof Error ? error.message : String(error);
        onError(tagToken ?? token, 'TAG_RESOLVE_FAILED', msg);
        scalar = new Scalar.Scalar(value);
    }
    scalar.range = range;
    scalar.source = value;
    if (type)
        scalar.type = type;
    if (tagName)
        scalar.tag = tagName;
    if (tag.format)
        scalar.format = tag.format;
    if (comment)
        scalar.comment = comment;
    return scalar;
}
function findScalarTagByName(schema, value, tagName, tagToken, onError) {
    if (tagName === '!')
        return schema[identity.SCALAR]; // non-specific tag
    const matchWithTest = [];
    for (const tag of schema.tags) {
        if (!tag.collection && tag.tag === tagName) {
            if (tag.default && tag.test)
                matchWithTest.push(tag);
            else
                return tag;
        }
    }
    for (const tag of matchWithTest)
        if (tag.test?.test(value))
            return tag;
    const kt = schema.knownTags[tagName];
    if (kt && !kt.collection) {
        // Ensure that the known tag is available for stringifying,
        // but does not get used by default.
        schema.tags.push(Object.assign({}, kt, { default: false, test: undefined }));
        return kt;
    }
    onError(tagToken, 'TAG_RESOLVE_FAILED', `Unresolved tag: ${tagName}`, tagName !== 'tag:yaml.org,2002:str');
    return schema[identity.SCALAR];
}
function findScalarTagByTest({ atKey, directives, schema }, value, token, onError) {
    const tag = schema.tags.find(tag => (tag.default === true || (atKey && tag.default === 'key')) &&
        tag.test?.test(value)) || schema[identity.SCALAR];
    if (schema.compat) {
        const compat = schema.compat.find(tag => tag.default && tag.test?.test(value)) ??
            schema[identity.SCALAR];
        if (tag.tag !== compat.tag) {
            const ts = directives.tagString(tag.tag);
            const cs = directives.tagString(compat.tag);
            const msg = `Value may be parsed as either ${ts} or ${cs}`;
            onError(token, 'TAG_RESOLVE_FAILED', msg, true);
        }
    }
    return tag;
}

exports.composeScalar = composeScalar;


/***/ }),

/***/ 9984:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var node_process = __nccwpck_require__(932);
var directives = __nccwpck_require__(1342);
var Document = __nccwpck_require__(3021);
var errors = __nccwpck_require__(1464);
var identity = __nccwpck_require__(1127);
var composeDoc = __nccwpck_require__(3683);
var resolveEnd = __nccwpck_require__(7788);

function getErrorPos(src) {
    if (typeof src === 'number')
        return [src, src + 1];
    if (Array.isArray(src))
        return src.length === 2 ? src : [src[0], src[1]];
    const { offset, source } = src;
    return [offset, offset + (typeof source === 'string' ? source.length : 1)];
}
function parsePrelude(prelude) {
    let comment = '';
    let atComment = false;
    let afterEmptyLine = false;
    for (let i = 0; i < prelude.length; ++i) {
        const source = prelude[i];
        switch (source[0]) {
            case '#':
                comment +=
                    (comment === '' ? '' : afterEmptyLine ? '\n\n' : '\n') +
                        (source.substring(1) || ' ');
                atComment = true;
                afterEmptyLine = false;
                break;
            case '%':
                if (prelude[i + 1]?.[0] !== '#')
                    i += 1;
                atComment = false;
                break;
            default:
                // This may be wrong after doc-end, but in that case it doesn't matter
                if (!atComment)
                    afterEmptyLine = true;
                atComment = false;
        }
    }
    return { comment, afterEmptyLine };
}
/**
 * Compose a stream of CST nodes into a stream of YAML Documents.
 *
 * ```ts
 * import { Composer, Parser } from 'yaml'
 *
 * const src: string = ...
 * const tokens = new Parser().parse(src)
 * const docs = new Composer().compose(tokens)
 * ```
 */
class Composer {
    constructor(options = {}) {
        this.doc = null;
        this.atDirectives = false;
        this.prelude = [];
        this.errors = [];
        this.warnings = [];
        this.onError = (source, code, message, warning) => {
            const pos = getErrorPos(source);
            if (warning)
                this.warnings.push(new errors.YAMLWarning(pos, code, message));
            else
                this.errors.push(new errors.YAMLParseError(pos, code, message));
        };
        // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing
        this.directives = new directives.Directives({ version: options.version || '1.2' });
        this.options = options;
    }
    decorate(doc, afterDoc) {
        const { comment, afterEmptyLine } = parsePrelude(this.prelude);
        //console.log({ dc: doc.comment, prelude, comment })
        if (comment) {
            const dc = doc.contents;
            if (afterDoc) {
                doc.comment = doc.comment ? `${doc.comment}\n${comment}` : comment;
            }
            else if (afterEmptyLine || doc.directives.docStart || !dc) {
                doc.commentBefore = comment;
            }
            else if (identity.isCollection(dc) && !dc.flow && dc.items.length > 0) {
                let it = dc.items[0];
                if (identity.isPair(it))
                    it = it.key;
                const cb = it.commentBefore;
                it.commentBefore = cb ? `${comment}\n${cb}` : comment;
            }
            else {
                const cb = dc.commentBefore;
                dc.commentBefore = cb ? `${comment}\n${cb}` : comment;
            }
        }
        if (afterDoc) {
            for (let i = 0; i < this.errors.length; ++i)
                doc.errors.push(this.errors[i]);
            for (let i = 0; i < this.warnings.length; ++i)
                doc.warnings.push(this.warnings[i]);
        }
        else {
            doc.errors = this.errors;
            doc.warnings = this.warnings;
        }
        this.prelude = [];
        this.errors = [];
        this.warnings = [];
    }
    /**
     * Current stream status information.
     *
     * Mostly useful at the end of input for an empty stream.
     */
    streamInfo() {
        return {
            comment: parsePrelude(this.prelude).comment,
            directives: this.directives,
            errors: this.errors,
            warnings: this.warnings
        };
    }
    /**
     * Compose tokens into documents.
     *
     * @param forceDoc - If the stream contains no document, still emit a final document including any comments and directives that would be applied to a subsequent document.
     * @param endOffset - Should be set if `forceDoc` is also set, to set the document range end and to indicate errors correctly.
     */
    *compose(tokens, forceDoc = false, endOffset = -1) {
        for (const token of tokens)
            yield* this.next(token);
        yield* this.end(forceDoc, endOffset);
    }
    /** Advance the composer by one CST token. */
    *next(token) {
        if (node_process.env.LOG_STREAM)
            console.dir(token, { depth: null });
        switch (token.type) {
            case 'directive':
                this.directives.add(token.source, (offset, message, warning) => {
                    const pos = getErrorPos(token);
                    pos[0] += offset;
                    this.onError(pos, 'BAD_DIRECTIVE', message, warning);
                });
                this.prelude.push(token.source);
                this.atDirectives = true;
                break;
            case 'document': {
                const doc = composeDoc.composeDoc(this.options, this.directives, token, this.onError);
                if (this.atDirectives && !doc.directives.docStart)
                    this.onError(token, 'MISSING_CHAR', 'Missing directives-end/doc-start indicator line');
                this.decorate(doc, false);
                if (this.doc)
                    yield this.doc;
                this.doc = doc;
                this.atDirectives = false;
                break;
            }
            case 'byte-order-mark':
            case 'space':
                break;
            case 'comment':
            case 'newline':
                this.prelude.push(token.source);
                break;
            case 'error': {
                const msg = token.source
                    ? `${token.message}: ${JSON.stringify(token.source)}`
                    : token.message;
                const error = new errors.YAMLParseError(getErrorPos(token), 'UNEXPECTED_TOKEN', msg);
                if (this.atDirectives || !this.doc)
                    this.errors.push(error);
                else
                    this.doc.errors.push(error);
                break;
            }
            case 'doc-end': {
                if (!this.doc) {
                    const msg = 'Unexpected doc-end without preceding document';
                    this.errors.push(new errors.YAMLParseError(getErrorPos(token), 'UNEXPECTED_TOKEN', msg));
                    break;
                }
                this.doc.directives.docEnd = true;
                const end = resolveEnd.resolveEnd(token.end, token.offset + token.source.length, this.doc.options.strict, this.onError);
                this.decorate(this.doc, true);
                if (end.comment) {
                    const dc = this.doc.comment;
                    this.doc.comment = dc ? `${dc}\n${end.comment}` : end.comment;
                }
                this.doc.range[2] = end.offset;
                break;
            }
            default:
                this.errors.push(new errors.YAMLParseError(getErrorPos(token), 'UNEXPECTED_TOKEN', `Unsupported token ${token.type}`));
        }
    }
    /**
     * Call at end of input to yield any remaining document.
     *
     * @param forceDoc - If the stream contains no document, still emit a final document including any comments and directives that would be applied to a subsequent document.
     * @param endOffset - Should be set if `forceDoc` is also set, to set the document range end and to indicate errors correctly.
     */
    *end(forceDoc = false, endOffset = -1) {
        if (this.doc) {
            this.decorate(this.doc, true);
            yield this.doc;
            this.doc = null;
        }
        else if (forceDoc) {
            const opts = Object.assign({ _directives: this.directives }, this.options);
            const doc = new Document.Document(undefined, opts);
            if (this.atDirectives)
                this.onError(endOffset, 'MISSING_CHAR', 'Missing directives-end indicator line');
            doc.range = [0, endOffset, endOffset];
            this.decorate(doc, false);
            yield doc;
        }
    }
}

exports.Composer = Composer;


/***/ }),

/***/ 7103:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Pair = __nccwpck_require__(7165);
var YAMLMap = __nccwpck_require__(4454);
var resolveProps = __nccwpck_require__(4631);
var utilContainsNewline = __nccwpck_require__(9499);
var utilFlowIndentCheck = __nccwpck_require__(4051);
var utilMapIncludes = __nccwpck_require__(1187);

const startColMsg = 'All mapping items must start at the same column';
function resolveBlockMap({ composeNode, composeEmptyNode }, ctx, bm, onError, tag) {
    const NodeClass = tag?.nodeClass ?? YAMLMap.YAMLMap;
    const map = new NodeClass(ctx.schema);
    if (ctx.atRoot)
        ctx.atRoot = false;
    let offset = bm.offset;
    let commentEnd = null;
    for (const collItem of bm.items) {
        const { start, key, sep, value } = collItem;
        // key properties
        const keyProps = resolveProps.resolveProps(start, {
            indicator: 'explicit-key-ind',
            next: key ?? sep?.[0],
            offset,
            onError,
            parentIndent: bm.indent,
            startOnNewline: true
        });
        const implicitKey = !keyProps.found;
        if (implicitKey) {
            if (key) {
                if (key.type === 'block-seq')
                    onError(offset, 'BLOCK_AS_IMPLICIT_KEY', 'A block sequence may not be used as an implicit map key');
                else if ('indent' in key && key.indent !== bm.indent)
                    onError(offset, 'BAD_INDENT', startColMsg);
            }
            if (!keyProps.anchor && !keyProps.tag && !sep) {
                commentEnd = keyProps.end;
                if (keyProps.comment) {
                    if (map.comment)
                        map.comment += '\n' + keyProps.comment;
                    else
                        map.comment = keyProps.comment;
                }
                continue;
            }
            if (keyProps.newlineAfterProp || utilContainsNewline.containsNewline(key)) {
                onError(key ?? start[start.length - 1], 'MULTILINE_IMPLICIT_KEY', 'Implicit keys need to be on a single line');
            }
        }
        else if (keyProps.found?.indent !== bm.indent) {
            onError(offset, 'BAD_INDENT', startColMsg);
        }
        // key value
        ctx.atKey = true;
        const keyStart = keyProps.end;
        const keyNode = key
            ? composeNode(ctx, key, keyProps, onError)
            : composeEmptyNode(ctx, keyStart, start, null, keyProps, onError);
        if (ctx.schema.compat)
            utilFlowIndentCheck.flowIndentCheck(bm.indent, key, onError);
        ctx.atKey = false;
        if (utilMapIncludes.mapIncludes(ctx, map.items, keyNode))
            onError(keyStart, 'DUPLICATE_KEY', 'Map keys must be unique');
        // value properties
        const valueProps = resolveProps.resolveProps(sep ?? [], {
            indicator: 'map-value-ind',
            next: value,
            offset: keyNode.range[2],
            onError,
            parentIndent: bm.indent,
            startOnNewline: !key || key.type === 'block-scalar'
        });
        offset = valueProps.end;
        if (valueProps.found) {
            if (implicitKey) {
                if (value?.type === 'block-map' && !valueProps.hasNewline)
                    onError(offset, 'BLOCK_AS_IMPLICIT_KEY', 'Nested mappings are not allowed in compact mappings');
                if (ctx.options.strict &&
                    keyProps.start < valueProps.found.offset - 1024)
                    onError(keyNode.range, 'KEY_OVER_1024_CHARS', 'The : indicator must be at most 1024 chars after the start of an implicit block mapping key');
            }
            // value value
            const valueNode = value
                ? composeNode(ctx, value, valueProps, onError)
                : composeEmptyNode(ctx, offset, sep, null, valueProps, onError);
            if (ctx.schema.compat)
                utilFlowIndentCheck.flowIndentCheck(bm.indent, value, onError);
            offset = valueNode.range[2];
            const pair = new Pair.Pair(keyNode, valueNode);
            if (ctx.options.keepSourceTokens)
                pair.srcToken = collItem;
            map.items.push(pair);
        }
        else {
            // key with no value
            if (implicitKey)
                onError(keyNode.range, 'MISSING_CHAR', 'Implicit map keys need to be followed by map values');
            if (valueProps.comment) {
                if (keyNode.comment)
                    keyNode.comment += '\n' + valueProps.comment;
                else
                    keyNode.comment = valueProps.comment;
            }
            const pair = new Pair.Pair(keyNode);
            if (ctx.options.keepSourceTokens)
                pair.srcToken = collItem;
            map.items.push(pair);
        }
    }
    if (commentEnd && commentEnd < offset)
        onError(commentEnd, 'IMPOSSIBLE', 'Map comment with trailing content');
    map.range = [bm.offset, offset, commentEnd ?? offset];
    return map;
}

exports.resolveBlockMap = resolveBlockMap;


/***/ }),

/***/ 8913:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Scalar = __nccwpck_require__(3301);

function resolveBlockScalar(ctx, scalar, onError) {
    const start = scalar.offset;
    const header = parseBlockScalarHeader(scalar, ctx.options.strict, onError);
    if (!header)
        return { value: '', type: null, comment: '', range: [start, start, start] };
    const type = header.mode === '>' ? Scalar.Scalar.BLOCK_FOLDED : Scalar.Scalar.BLOCK_LITERAL;
    const lines = scalar.source ? splitLines(scalar.source) : [];
    // determine the end of content & start of chomping
    let chompStart = lines.length;
    for (let i = lines.length - 1; i >= 0; --i) {
        const content = lines[i][1];
        if (content === '' || content === '\r')
            chompStart = i;
        else
            break;
    }
    // shortcut for empty contents
    if (chompStart === 0) {
        const value = header.chomp === '+' && lines.length > 0
            ? '\n'.repeat(Math.max(1, lines.length - 1))
            : '';
        let end = start + header.length;
        if (scalar.source)
            end += scalar.source.length;
        return { value, type, comment: header.comment, range: [start, end, end] };
    }
    // find the indentation level to trim from start
    let trimIndent = scalar.indent + header.indent;
    let offset = scalar.offset + header.length;
    let contentStart = 0;
    for (let i = 0; i < chompStart; ++i) {
        const [indent, content] = lines[i];
        if (content === '' || content === '\r') {
            if (header.indent === 0 && indent.length > trimIndent)
                trimIndent = indent.length;
        }
        else {
            if (indent.length < trimIndent) {
                const message = 'Block scalars with more-indented leading empty lines must use an explicit indentation indicator';
                onError(offset + indent.length, 'MISSING_CHAR', message);
            }
            if (header.indent === 0)
                trimIndent = indent.length;
            contentStart = i;
            if (trimIndent === 0 && !ctx.atRoot) {
                const message = 'Block scalar values in collections must be indented';
                onError(offset, 'BAD_INDENT', message);
            }
            break;
        }
        offset += indent.length + content.length + 1;
    }
    // include trailing more-indented empty lines in content
    for (let i = lines.length - 1; i >= chompStart; --i) {
        if (lines[i][0].length > trimIndent)
            chompStart = i + 1;
    }
    let value = '';
    let sep = '';
    let prevMoreIndented = false;
    // leading whitespace is kept intact
    for (let i = 0; i < contentStart; ++i)
        value += lines[i][0].slice(trimIndent) + '\n';
    for (let i = contentStart; i < chompStart; ++i) {
        let [indent, content] = lines[i];
        offset += indent.length + content.length + 1;
        const crlf = content[content.length - 1] === '\r';
        if (crlf)
            content = content.slice(0, -1);
        /* istanbul ignore if already caught in lexer */
        if (content && indent.length < trimIndent) {
            const src = header.indent
                ? 'explicit indentation indicator'
                : 'first line';
            const message = `Block scalar lines must not be less indented than their ${src}`;
            onError(offset - content.length - (crlf ? 2 : 1), 'BAD_INDENT', message);
            indent = '';
        }
        if (type === Scalar.Scalar.BLOCK_LITERAL) {
            value += sep + indent.slice(trimIndent) + content;
            sep = '\n';
        }
        else if (indent.length > trimIndent || content[0] === '\t') {
            // more-indented content within a folded block
            if (sep === ' ')
                sep = '\n';
            else if (!prevMoreIndented && sep === '\n')
                sep = '\n\n';
            value += sep + indent.slice(trimIndent) + content;
            sep = '\n';
            prevMoreIndented = true;
        }
        else if (content === '') {
            // empty line
            if (sep === '\n')
                value += '\n';
            else
                sep = '\n';
        }
        else {
            value += sep + content;
            sep = ' ';
            prevMoreIndented = false;
        }
    }
    switch (header.chomp) {
        case '-':
            break;
        case '+':
            for (let i = chompStart; i < lines.length; ++i)
                value += '\n' + lines[i][0].slice(trimIndent);
            if (value[value.length - 1] !== '\n')
                value += '\n';
            break;
        default:
            value += '\n';
    }
    const end = start + header.length + scalar.source.length;
    return { value, type, comment: header.comment, range: [start, end, end] };
}
function parseBlockScalarHeader({ offset, props }, strict, onError) {
    /* istanbul ignore if should not happen */
    if (props[0].type !== 'block-scalar-header') {
        onError(props[0], 'IMPOSSIBLE', 'Block scalar header not found');
        return null;
    }
    const { source } = props[0];
    const mode = source[0];
    let indent = 0;
    let chomp = '';
    let error = -1;
    for (let i = 1; i < source.length; ++i) {
        const ch = source[i];
        if (!chomp && (ch === '-' || ch === '+'))
            chomp = ch;
        else {
            const n = Number(ch);
            if (!indent && n)
                indent = n;
            else if (error === -1)
                error = offset + i;
        }
    }
    if (error !== -1)
        onError(error, 'UNEXPECTED_TOKEN', `Block scalar header includes extra characters: ${source}`);
    let hasSpace = false;
    let comment = '';
    let length = source.length;
    for (let i = 1; i < props.length; ++i) {
        const token = props[i];
        switch (token.type) {
            case 'space':
                hasSpace = true;
            // fallthrough
            case 'newline':
                length += token.source.length;
                break;
            case 'comment':
                if (strict && !hasSpace) {
                    const message = 'Comments must be separated from other tokens by white space characters';
                    onError(token, 'MISSING_CHAR', message);
                }
                length += token.source.length;
                comment = token.source.substring(1);
                break;
            case 'error':
                onError(token, 'UNEXPECTED_TOKEN', token.message);
                length += token.source.length;
                break;
            /* istanbul ignore next should not happen */
            default: {
                const message = `Unexpected token in block scalar header: ${token.type}`;
                onError(token, 'UNEXPECTED_TOKEN', message);
                const ts = token.source;
                if (ts && typeof ts === 'string')
                    length += ts.length;
            }
        }
    }
    return { mode, indent, chomp, comment, length };
}
/** @returns Array of lines split up as `[indent, content]` */
function splitLines(source) {
    const split = source.split(/\n( *)/);
    const first = split[0];
    const m = first.match(/^( *)/);
    const line0 = m?.[1]
        ? [m[1], first.slice(m[1].length)]
        : ['', first];
    const lines = [line0];
    for (let i = 1; i < split.length; i += 2)
        lines.push([split[i], split[i + 1]]);
    return lines;
}

exports.resolveBlockScalar = resolveBlockScalar;


/***/ }),

/***/ 334:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var YAMLSeq = __nccwpck_require__(2223);
var resolveProps = __nccwpck_require__(4631);
var utilFlowIndentCheck = __nccwpck_require__(4051);

function resolveBlockSeq({ composeNode, composeEmptyNode }, ctx, bs, onError, tag) {
    const NodeClass = tag?.nodeClass ?? YAMLSeq.YAMLSeq;
    const seq = new NodeClass(ctx.schema);
    if (ctx.atRoot)
        ctx.atRoot = false;
    if (ctx.atKey)
        ctx.atKey = false;
    let offset = bs.offset;
    let commentEnd = null;
    for (const { start, value } of bs.items) {
        const props = resolveProps.resolveProps(start, {
            indicator: 'seq-item-ind',
            next: value,
            offset,
            onError,
            parentIndent: bs.indent,
            startOnNewline: true
        });
        if (!props.found) {
            if (props.anchor || props.tag || value) {
                if (value?.type === 'block-seq')
                    onError(props.end, 'BAD_INDENT', 'All sequence items must start at the same column');
                else
                    onError(offset, 'MISSING_CHAR', 'Sequence item without - indicator');
            }
            else {
                commentEnd = props.end;
                if (props.comment)
                    seq.comment = props.comment;
                continue;
            }
        }
        const node = value
            ? composeNode(ctx, value, props, onError)
            : composeEmptyNode(ctx, props.end, start, null, props, onError);
        if (ctx.schema.compat)
            utilFlowIndentCheck.flowIndentCheck(bs.indent, value, onError);
        offset = node.range[2];
        seq.items.push(node);
    }
    seq.range = [bs.offset, offset, commentEnd ?? offset];
    return seq;
}

exports.resolveBlockSeq = resolveBlockSeq;


/***/ }),

/***/ 7788:
/***/ ((__unused_webpack_module, exports) => {



function resolveEnd(end, offset, reqSpace, onError) {
    let comment = '';
    if (end) {
        let hasSpace = false;
        let sep = '';
        for (const token of end) {
            const { source, type } = token;
            switch (type) {
                case 'space':
                    hasSpace = true;
                    break;
                case 'comment': {
                    if (reqSpace && !hasSpace)
                        onError(token, 'MISSING_CHAR', 'Comments must be separated from other tokens by white space characters');
                    const cb = source.substring(1) || ' ';
                    if (!comment)
                        comment = cb;
                    else
                        comment += sep + cb;
                    sep = '';
                    break;
                }
                case 'newline':
                    if (comment)
                        sep += source;
                    hasSpace = true;
                    break;
                default:
                    onError(token, 'UNEXPECTED_TOKEN', `Unexpected ${type} at node end`);
            }
            offset += source.length;
        }
    }
    return { comment, offset };
}

exports.resolveEnd = resolveEnd;


/***/ }),

/***/ 3142:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var Pair = __nccwpck_require__(7165);
var YAMLMap = __nccwpck_require__(4454);
var YAMLSeq = __nccwpck_require__(2223);
var resolveEnd = __nccwpck_require__(7788);
var resolveProps = __nccwpck_require__(4631);
var utilContainsNewline = __nccwpck_require__(9499);
var utilMapIncludes = __nccwpck_require__(1187);

const blockMsg = 'Block collections are not allowed within flow collections';
const isBlock = (token) => token && (token.type === 'block-map' || token.type === 'block-seq');
function resolveFlowCollection({ composeNode, composeEmptyNode }, ctx, fc, onError, tag) {
    const isMap = fc.start.source === '{';
    const fcName = isMap ? 'flow map' : 'flow sequence';
    const NodeClass = (tag?.nodeClass ?? (isMap ? YAMLMap.YAMLMap : YAMLSeq.YAMLSeq));
    const coll = new NodeClass(ctx.schema);
    coll.flow = true;
    const atRoot = ctx.atRoot;
    if (atRoot)
        ctx.atRoot = false;
    if (ctx.atKey)
        ctx.atKey = false;
    let offset = fc.offset + fc.start.source.length;
    for (let i = 0; i < fc.items.length; ++i) {
        const collItem = fc.items[i];
        const { start, key, sep, value } = collItem;
        const props = resolveProps.resolveProps(start, {
            flow: fcName,
            indicator: 'explicit-key-ind',
            next: key ?? sep?.[0],
            offset,
            onError,
            parentIndent: fc.indent,
            startOnNewline: false
        });
        if (!props.found) {
            if (!props.anchor && !props.tag && !sep && !value) {
                if (i === 0 && props.comma)
                    onError(props.comma, 'UNEXPECTED_TOKEN', `Unexpected , in ${fcName}`);
                else if (i < fc.items.length - 1)
                    onError(props.start, 'UNEXPECTED_TOKEN', `Unexpected empty item in ${fcName}`);
                if (props.comment) {
                    if (coll.comment)
                        coll.comment += '\n' + props.comment;
                    else
                        coll.comment = props.comment;
                }
                offset = props.end;
                continue;
            }
            if (!isMap && ctx.options.strict && utilContainsNewline.containsNewline(key))
                onError(key, // checked by containsNewline()
                'MULTILINE_IMPLICIT_KEY', 'Implicit keys of flow sequence pairs need to be on a single line');
        }
        if (i === 0) {
            if (props.comma)
                onError(props.comma, 'UNEXPECTED_TOKEN', `Unexpected , in ${fcName}`);
        }
        else {
            if (!props.comma)
                onError(props.start, 'MISSING_CHAR', `Missing , between ${fcName} items`);
            if (props.comment) {
                let prevItemComment = '';
                loop: for (const st of start) {
                    switch (st.type) {
                        case 'comma':
                        case 'space':
                            break;
                        case 'comment':
                            prevItemComment = st.source.substring(1);
                            break loop;
                        default:
                            break loop;
                    }
                }
                if (prevItemComment) {
                    let prev = coll.items[coll.items.length - 1];
                    if (identity.isPair(prev))
                        prev = prev.value ?? prev.key;
                    if (prev.comment)
                        prev.comment += '\n' + prevItemComment;
                    else
                        prev.comment = prevItemComment;
                    props.comment = props.comment.substring(prevItemComment.length + 1);
                }
            }
        }
        if (!isMap && !sep && !props.found) {
            // item is a value in a seq
            // → key & sep are empty, start does not include ? or :
            const valueNode = value
                ? composeNode(ctx, value, props, onError)
                : composeEmptyNode(ctx, props.end, sep, null, props, onError);
            coll.items.push(valueNode);
            offset = valueNode.range[2];
            if (isBlock(value))
                onError(valueNode.range, 'BLOCK_IN_FLOW', blockMsg);
        }
        else {
            // item is a key+value pair
            // key value
            ctx.atKey = true;
            const keyStart = props.end;
            const keyNode = key
                ? composeNode(ctx, key, props, onError)
                : composeEmptyNode(ctx, keyStart, start, null, props, onError);
            if (isBlock(key))
                onError(keyNode.range, 'BLOCK_IN_FLOW', blockMsg);
            ctx.atKey = false;
            // value properties
            const valueProps = resolveProps.resolveProps(sep ?? [], {
                flow: fcName,
                indicator: 'map-value-ind',
                next: value,
                offset: keyNode.range[2],
                onError,
                parentIndent: fc.indent,
                startOnNewline: false
            });
            if (valueProps.found) {
                if (!isMap && !props.found && ctx.options.strict) {
                    if (sep)
                        for (const st of sep) {
                            if (st === valueProps.found)
                                break;
                            if (st.type === 'newline') {
                                onError(st, 'MULTILINE_IMPLICIT_KEY', 'Implicit keys of flow sequence pairs need to be on a single line');
                                break;
                            }
                        }
                    if (props.start < valueProps.found.offset - 1024)
                        onError(valueProps.found, 'KEY_OVER_1024_CHARS', 'The : indicator must be at most 1024 chars after the start of an implicit flow sequence key');
                }
            }
            else if (value) {
                if ('source' in value && value.source?.[0] === ':')
                    onError(value, 'MISSING_CHAR', `Missing space after : in ${fcName}`);
                else
                    onError(valueProps.start, 'MISSING_CHAR', `Missing , or : between ${fcName} items`);
            }
            // value value
            const valueNode = value
                ? composeNode(ctx, value, valueProps, onError)
                : valueProps.found
                    ? composeEmptyNode(ctx, valueProps.end, sep, null, valueProps, onError)
                    : null;
            if (valueNode) {
                if (isBlock(value))
                    onError(valueNode.range, 'BLOCK_IN_FLOW', blockMsg);
            }
            else if (valueProps.comment) {
                if (keyNode.comment)
                    keyNode.comment += '\n' + valueProps.comment;
                else
                    keyNode.comment = valueProps.comment;
            }
            const pair = new Pair.Pair(keyNode, valueNode);
            if (ctx.options.keepSourceTokens)
                pair.srcToken = collItem;
            if (isMap) {
                const map = coll;
                if (utilMapIncludes.mapIncludes(ctx, map.items, keyNode))
                    onError(keyStart, 'DUPLICATE_KEY', 'Map keys must be unique');
                map.items.push(pair);
            }
            else {
                const map = new YAMLMap.YAMLMap(ctx.schema);
                map.flow = true;
                map.items.push(pair);
                const endRange = (valueNode ?? keyNode).range;
                map.range = [keyNode.range[0], endRange[1], endRange[2]];
                coll.items.push(map);
            }
            offset = valueNode ? valueNode.range[2] : valueProps.end;
        }
    }
    const expectedEnd = isMap ? '}' : ']';
    const [ce, ...ee] = fc.end;
    let cePos = offset;
    if (ce?.source === expectedEnd)
        cePos = ce.offset + ce.source.length;
    else {
        const name = fcName[0].toUpperCase() + fcName.substring(1);
        const msg = atRoot
            ? `${name} must end with a ${expectedEnd}`
            : `${name} in block collection must be sufficiently indented and end with a ${expectedEnd}`;
        onError(offset, atRoot ? 'MISSING_CHAR' : 'BAD_INDENT', msg);
        if (ce && ce.source.length !== 1)
            ee.unshift(ce);
    }
    if (ee.length > 0) {
        const end = resolveEnd.resolveEnd(ee, cePos, ctx.options.strict, onError);
        if (end.comment) {
            if (coll.comment)
                coll.comment += '\n' + end.comment;
            else
                coll.comment = end.comment;
        }
        coll.range = [fc.offset, cePos, end.offset];
    }
    else {
        coll.range = [fc.offset, cePos, cePos];
    }
    return coll;
}

exports.resolveFlowCollection = resolveFlowCollection;


/***/ }),

/***/ 6842:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Scalar = __nccwpck_require__(3301);
var resolveEnd = __nccwpck_require__(7788);

function resolveFlowScalar(scalar, strict, onError) {
    const { offset, type, source, end } = scalar;
    let _type;
    let value;
    const _onError = (rel, code, msg) => onError(offset + rel, code, msg);
    switch (type) {
        case 'scalar':
            _type = Scalar.Scalar.PLAIN;
            value = plainValue(source, _onError);
            break;
        case 'single-quoted-scalar':
            _type = Scalar.Scalar.QUOTE_SINGLE;
            value = singleQuotedValue(source, _onError);
            break;
        case 'double-quoted-scalar':
            _type = Scalar.Scalar.QUOTE_DOUBLE;
            value = doubleQuotedValue(source, _onError);
            break;
        /* istanbul ignore next should not happen */
        default:
            onError(scalar, 'UNEXPECTED_TOKEN', `Expected a flow scalar value, but found: ${type}`);
            return {
                value: '',
                type: null,
                comment: '',
                range: [offset, offset + source.length, offset + source.length]
            };
    }
    const valueEnd = offset + source.length;
    const re = resolveEnd.resolveEnd(end, valueEnd, strict, onError);
    return {
        value,
        type: _type,
        comment: re.comment,
        range: [offset, valueEnd, re.offset]
    };
}
function plainValue(source, onError) {
    let badChar = '';
    switch (source[0]) {
        /* istanbul ignore next should not happen */
        case '\t':
            badChar = 'a tab character';
            break;
        case ',':
            badChar = 'flow indicator character ,';
            break;
        case '%':
            badChar = 'directive indicator character %';
            break;
        case '|':
        case '>': {
            badChar = `block scalar indicator ${source[0]}`;
            break;
        }
        case '@':
        case '`': {
            badChar = `reserved character ${source[0]}`;
            break;
        }
    }
    if (badChar)
        onError(0, 'BAD_SCALAR_START', `Plain value cannot start with ${badChar}`);
    return unfoldLines(source);
}
function singleQuotedValue(source, onError) {
    if (source[source.length - 1] !== "'" || source.length === 1)
        onError(source.length, 'MISSING_CHAR', "Missing closing 'quote");
    return unfoldLines(source.slice(1, -1)).replace(/''/g, "'");
}
function unfoldLines(source) {
    const line = /(.*?)\r?\n/sy;
    let match = line.exec(source);
    if (!match)
        return source;
    /**
     * The negative lookbehinds in these RegExps are to
     * prevent causing a polynomial search time in certain cases.
     *
     * The try-catch is for Safari < 16.4 and other old browsers:
     * https://caniuse.com/js-regexp-lookbehind
     */
    let trimEnd, trimBoth;
    try {
        trimEnd = new RegExp('(?<![ \t])[ \t]+$');
        trimBoth = new RegExp('^[ \t]+|(?<![ \t])[ \t]+$', 'g');
    }
    catch {
        trimEnd = /[ \t]+$/;
        trimBoth = /^[ \t]+|[ \t]+$/g;
    }
    let res = match[1].replace(trimEnd, '');
    let sep = ' ';
    let pos = line.lastIndex;
    while ((match = line.exec(source))) {
        const lm = match[1].replace(trimBoth, '');
        if (lm === '') {
            if (sep === '\n')
                res += sep;
            else
                sep = '\n';
        }
        else {
            res += sep + lm;
            sep = ' ';
        }
        pos = line.lastIndex;
    }
    const last = /[ \t]*(.*)/sy;
    last.lastIndex = pos;
    match = last.exec(source);
    return res + sep + (match?.[1] ?? '');
}
function doubleQuotedValue(source, onError) {
    let res = '';
    for (let i = 1; i < source.length - 1; ++i) {
        const ch = source[i];
        if (ch === '\r' && source[i + 1] === '\n')
            continue;
        if (ch === '\n') {
            const { fold, offset } = foldNewline(source, i);
            res += fold;
            i = offset;
        }
        else if (ch === '\\') {
            let next = source[++i];
            const cc = escapeCodes[next];
            if (cc)
                res += cc;
            else if (next === '\n') {
                // skip escaped newlines, but still trim the following line
                next = source[i + 1];
                while (next === ' ' || next === '\t')
                    next = source[++i + 1];
            }
            else if (next === '\r' && source[i + 1] === '\n') {
                // skip escaped CRLF newlines, but still trim the following line
                next = source[++i + 1];
                while (next === ' ' || next === '\t')
                    next = source[++i + 1];
            }
            else if (next === 'x' || next === 'u' || next === 'U') {
                const length = next === 'x' ? 2 : next === 'u' ? 4 : 8;
                res += parseCharCode(source, i + 1, length, onError);
                i += length;
            }
            else {
                const raw = source.substr(i - 1, 2);
                onError(i - 1, 'BAD_DQ_ESCAPE', `Invalid escape sequence ${raw}`);
                res += raw;
            }
        }
        else if (ch === ' ' || ch === '\t') {
            // trim trailing whitespace
            const wsStart = i;
            let next = source[i + 1];
            while (next === ' ' || next === '\t')
                next = source[++i + 1];
            if (next !== '\n' && !(next === '\r' && source[i + 2] === '\n'))
                res += i > wsStart ? source.slice(wsStart, i + 1) : ch;
        }
        else {
            res += ch;
        }
    }
    if (source[source.length - 1] !== '"' || source.length === 1)
        onError(source.length, 'MISSING_CHAR', 'Missing closing "quote');
    return res;
}
/**
 * Fold a single newline into a space, multiple newlines to N - 1 newlines.
 * Presumes `source[offset] === '\n'`
 */
function foldNewline(source, offset) {
    let fold = '';
    let ch = source[offset + 1];
    while (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
        if (ch === '\r' && source[offset + 2] !== '\n')
            break;
        if (ch === '\n')
            fold += '\n';
        offset += 1;
        ch = source[offset + 1];
    }
    if (!fold)
        fold = ' ';
    return { fold, offset };
}
const escapeCodes = {
    '0': '\0', // null character
    a: '\x07', // bell character
    b: '\b', // backspace
    e: '\x1b', // escape character
    f: '\f', // form feed
    n: '\n', // line feed
    r: '\r', // carriage return
    t: '\t', // horizontal tab
    v: '\v', // vertical tab
    N: '\u0085', // Unicode next line
    _: '\u00a0', // Unicode non-breaking space
    L: '\u2028', // Unicode line separator
    P: '\u2029', // Unicode paragraph separator
    ' ': ' ',
    '"': '"',
    '/': '/',
    '\\': '\\',
    '\t': '\t'
};
function parseCharCode(source, offset, length, onError) {
    const cc = source.substr(offset, length);
    const ok = cc.length === length && /^[0-9a-fA-F]+$/.test(cc);
    const code = ok ? parseInt(cc, 16) : NaN;
    try {
        return String.fromCodePoint(code);
    }
    catch {
        const raw = source.substr(offset - 2, length + 2);
        onError(offset - 2, 'BAD_DQ_ESCAPE', `Invalid escape sequence ${raw}`);
        return raw;
    }
}

exports.resolveFlowScalar = resolveFlowScalar;


/***/ }),

/***/ 4631:
/***/ ((__unused_webpack_module, exports) => {



function resolveProps(tokens, { flow, indicator, next, offset, onError, parentIndent, startOnNewline }) {
    let spaceBefore = false;
    let atNewline = startOnNewline;
    let hasSpace = startOnNewline;
    let comment = '';
    let commentSep = '';
    let hasNewline = false;
    let reqSpace = false;
    let tab = null;
    let anchor = null;
    let tag = null;
    let newlineAfterProp = null;
    let comma = null;
    let found = null;
    let start = null;
    for (const token of tokens) {
        if (reqSpace) {
            if (token.type !== 'space' &&
                token.type !== 'newline' &&
                token.type !== 'comma')
                onError(token.offset, 'MISSING_CHAR', 'Tags and anchors must be separated from the next token by white space');
            reqSpace = false;
        }
        if (tab) {
            if (atNewline && token.type !== 'comment' && token.type !== 'newline') {
                onError(tab, 'TAB_AS_INDENT', 'Tabs are not allowed as indentation');
            }
            tab = null;
        }
        switch (token.type) {
            case 'space':
                // At the doc level, tabs at line start may be parsed
                // as leading white space rather than indentation.
                // In a flow collection, only the parser handles indent.
                if (!flow &&
                    (indicator !== 'doc-start' || next?.type !== 'flow-collection') &&
                    token.source.includes('\t')) {
                    tab = token;
                }
                hasSpace = true;
                break;
            case 'comment': {
                if (!hasSpace)
                    onError(token, 'MISSING_CHAR', 'Comments must be separated from other tokens by white space characters');
                const cb = token.source.substring(1) || ' ';
                if (!comment)
                    comment = cb;
                else
                    comment += commentSep + cb;
                commentSep = '';
                atNewline = false;
                break;
            }
            case 'newline':
                if (atNewline) {
                    if (comment)
                        comment += token.source;
                    else if (!found || indicator !== 'seq-item-ind')
                        spaceBefore = true;
                }
                else
                    commentSep += token.source;
                atNewline = true;
                hasNewline = true;
                if (anchor || tag)
                    newlineAfterProp = token;
                hasSpace = true;
                break;
            case 'anchor':
                if (anchor)
                    onError(token, 'MULTIPLE_ANCHORS', 'A node can have at most one anchor');
                if (token.source.endsWith(':'))
                    onError(token.offset + token.source.length - 1, 'BAD_ALIAS', 'Anchor ending in : is ambiguous', true);
                anchor = token;
                start ?? (start = token.offset);
                atNewline = false;
                hasSpace = false;
                reqSpace = true;
                break;
            case 'tag': {
                if (tag)
                    onError(token, 'MULTIPLE_TAGS', 'A node can have at most one tag');
                tag = token;
                start ?? (start = token.offset);
                atNewline = false;
                hasSpace = false;
                reqSpace = true;
                break;
            }
            case indicator:
                // Could here handle preceding comments differently
                if (anchor || tag)
                    onError(token, 'BAD_PROP_ORDER', `Anchors and tags must be after the ${token.source} indicator`);
                if (found)
                    onError(token, 'UNEXPECTED_TOKEN', `Unexpected ${token.source} in ${flow ?? 'collection'}`);
                found = token;
                atNewline =
                    indicator === 'seq-item-ind' || indicator === 'explicit-key-ind';
                hasSpace = false;
                break;
            case 'comma':
                if (flow) {
                    if (comma)
                        onError(token, 'UNEXPECTED_TOKEN', `Unexpected , in ${flow}`);
                    comma = token;
                    atNewline = false;
                    hasSpace = false;
                    break;
                }
            // else fallthrough
            default:
                onError(token, 'UNEXPECTED_TOKEN', `Unexpected ${token.type} token`);
                atNewline = false;
                hasSpace = false;
        }
    }
    const last = tokens[tokens.length - 1];
    const end = last ? last.offset + last.source.length : offset;
    if (reqSpace &&
        next &&
        next.type !== 'space' &&
        next.type !== 'newline' &&
        next.type !== 'comma' &&
        (next.type !== 'scalar' || next.source !== '')) {
        onError(next.offset, 'MISSING_CHAR', 'Tags and anchors must be separated from the next token by white space');
    }
    if (tab &&
        ((atNewline && tab.indent <= parentIndent) ||
            next?.type === 'block-map' ||
            next?.type === 'block-seq'))
        onError(tab, 'TAB_AS_INDENT', 'Tabs are not allowed as indentation');
    return {
        comma,
        found,
        spaceBefore,
        comment,
        hasNewline,
        anchor,
        tag,
        newlineAfterProp,
        end,
        start: start ?? end
    };
}

exports.resolveProps = resolveProps;


/***/ }),

/***/ 9499:
/***/ ((__unused_webpack_module, exports) => {



function containsNewline(key) {
    if (!key)
        return null;
    switch (key.type) {
        case 'alias':
        case 'scalar':
        case 'double-quoted-scalar':
        case 'single-quoted-scalar':
            if (key.source.includes('\n'))
                return true;
            if (key.end)
                for (const st of key.end)
                    if (st.type === 'newline')
                        return true;
            return false;
        case 'flow-collection':
            for (const it of key.items) {
                for (const st of it.start)
                    if (st.type === 'newline')
                        return true;
                if (it.sep)
                    for (const st of it.sep)
                        if (st.type === 'newline')
                            return true;
                if (containsNewline(it.key) || containsNewline(it.value))
                    return true;
            }
            return false;
        default:
            return true;
    }
}

exports.containsNewline = containsNewline;


/***/ }),

/***/ 2599:
/***/ ((__unused_webpack_module, exports) => {



function emptyScalarPosition(offset, before, pos) {
    if (before) {
        pos ?? (pos = before.length);
        for (let i = pos - 1; i >= 0; --i) {
            let st = before[i];
            switch (st.type) {
                case 'space':
                case 'comment':
                case 'newline':
                    offset -= st.source.length;
                    continue;
            }
            // Technically, an empty scalar is immediately after the last non-empty
            // node, but it's more useful to place it after any whitespace.
            st = before[++i];
            while (st?.type === 'space') {
                offset += st.source.length;
                st = before[++i];
            }
            break;
        }
    }
    return offset;
}

exports.emptyScalarPosition = emptyScalarPosition;


/***/ }),

/***/ 4051:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var utilContainsNewline = __nccwpck_require__(9499);

function flowIndentCheck(indent, fc, onError) {
    if (fc?.type === 'flow-collection') {
        const end = fc.end[0];
        if (end.indent === indent &&
            (end.source === ']' || end.source === '}') &&
            utilContainsNewline.containsNewline(fc)) {
            const msg = 'Flow end indicator should be more indented than parent';
            onError(end, 'BAD_INDENT', msg, true);
        }
    }
}

exports.flowIndentCheck = flowIndentCheck;


/***/ }),

/***/ 1187:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);

function mapIncludes(ctx, items, search) {
    const { uniqueKeys } = ctx.options;
    if (uniqueKeys === false)
        return false;
    const isEqual = typeof uniqueKeys === 'function'
        ? uniqueKeys
        : (a, b) => a === b || (identity.isScalar(a) && identity.isScalar(b) && a.value === b.value);
    return items.some(pair => isEqual(pair.key, search));
}

exports.mapIncludes = mapIncludes;


/***/ }),

/***/ 3021:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Alias = __nccwpck_require__(4065);
var Collection = __nccwpck_require__(101);
var identity = __nccwpck_require__(1127);
var Pair = __nccwpck_require__(7165);
var toJS = __nccwpck_require__(4043);
var Schema = __nccwpck_require__(5840);
var stringifyDocument = __nccwpck_require__(6829);
var anchors = __nccwpck_require__(1596);
var applyReviver = __nccwpck_require__(3661);
var createNode = __nccwpck_require__(2404);
var directives = __nccwpck_require__(1342);

class Document {
    constructor(value, replacer, options) {
        /** A comment before this Document */
        this.commentBefore = null;
        /** A comment immediately after this Document */
        this.comment = null;
        /** Errors encountered during parsing. */
        this.errors = [];
        /** Warnings encountered during parsing. */
        this.warnings = [];
        Object.defineProperty(this, identity.NODE_TYPE, { value: identity.DOC });
        let _replacer = null;
        if (typeof replacer === 'function' || Array.isArray(replacer)) {
            _replacer = replacer;
        }
        else if (options === undefined && replacer) {
            options = replacer;
            replacer = undefined;
        }
        const opt = Object.assign({
            intAsBigInt: false,
            keepSourceTokens: false,
            logLevel: 'warn',
            prettyErrors: true,
            strict: true,
            stringKeys: false,
            uniqueKeys: true,
            version: '1.2'
        }, options);
        this.options = opt;
        let { version } = opt;
        if (options?._directives) {
            this.directives = options._directives.atDocument();
            if (this.directives.yaml.explicit)
                version = this.directives.yaml.version;
        }
        else
            this.directives = new directives.Directives({ version });
        this.setSchema(version, options);
        // @ts-expect-error We can't really know that this matches Contents.
        this.contents =
            value === undefined ? null : this.createNode(value, _replacer, options);
    }
    /**
     * Create a deep copy of this Document and its contents.
     *
     * Custom Node values that inherit from `Object` still refer to their original instances.
     */
    clone() {
        const copy = Object.create(Document.prototype, {
            [identity.NODE_TYPE]: { value: identity.DOC }
        });
        copy.commentBefore = this.commentBefore;
        copy.comment = this.comment;
        copy.errors = this.errors.slice();
        copy.warnings = this.warnings.slice();
        copy.options = Object.assign({}, this.options);
        if (this.directives)
            copy.directives = this.directives.clone();
        copy.schema = this.schema.clone();
        // @ts-expect-error We can't really know that this matches Contents.
        copy.contents = identity.isNode(this.contents)
            ? this.contents.clone(copy.schema)
            : this.contents;
        if (this.range)
            copy.range = this.range.slice();
        return copy;
    }
    /** Adds a value to the document. */
    add(value) {
        if (assertCollection(this.contents))
            this.contents.add(value);
    }
    /** Adds a value to the document. */
    addIn(path, value) {
        if (assertCollection(this.contents))
            this.contents.addIn(path, value);
    }
    /**
     * Create a new `Alias` node, ensuring that the target `node` has the required anchor.
     *
     * If `node` already has an anchor, `name` is ignored.
     * Otherwise, the `node.anchor` value will be set to `name`,
     * or if an anchor with that name is already present in the document,
     * `name` will be used as a prefix for a new unique anchor.
     * If `name` is undefined, the generated anchor will use 'a' as a prefix.
     */
    createAlias(node, name) {
        if (!node.anchor) {
            const prev = anchors.anchorNames(this);
            node.anchor =
                // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing
                !name || prev.has(name) ? anchors.findNewAnchor(name || 'a', prev) : name;
        }
        return new Alias.Alias(node.anchor);
    }
    createNode(value, replacer, options) {
        let _replacer = undefined;
        if (typeof replacer === 'function') {
            value = replacer.call({ '': value }, '', value);
            _replacer = replacer;
        }
        else if (Array.isArray(replacer)) {
            const keyToStr = (v) => typeof v === 'number' || v instanceof String || v instanceof Number;
            const asStr = replacer.filter(keyToStr).map(String);
            if (asStr.length > 0)
                replacer = replacer.concat(asStr);
            _replacer = replacer;
        }
        else if (options === undefined && replacer) {
            options = replacer;
            replacer = undefined;
        }
        const { aliasDuplicateObjects, anchorPrefix, flow, keepUndefined, onTagObj, tag } = options ?? {};
        const { onAnchor, setAnchors, sourceObjects } = anchors.createNodeAnchors(this, 
        // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing
        anchorPrefix || 'a');
        const ctx = {
            aliasDuplicateObjects: aliasDuplicateObjects ?? true,
            keepUndefined: keepUndefined ?? false,
            onAnchor,
            onTagObj,
            replacer: _replacer,
            schema: this.schema,
            sourceObjects
        };
        const node = createNode.createNode(value, tag, ctx);
        if (flow && identity.isCollection(node))
            node.flow = true;
        setAnchors();
        return node;
    }
    /**
     * Convert a key and a value into a `Pair` using the current schema,
     * recursively wrapping all values as `Scalar` or `Collection` nodes.
     */
    createPair(key, value, options = {}) {
        const k = this.createNode(key, null, options);
        const v = this.createNode(value, null, options);
        return new Pair.Pair(k, v);
    }
    /**
     * Removes a value from the document.
     * @returns `true` if the item was found and removed.
     */
    delete(key) {
        return assertCollection(this.contents) ? this.contents.delete(key) : false;
    }
    /**
     * Removes a value from the document.
     * @returns `true` if the item was found and removed.
     */
    deleteIn(path) {
        if (Collection.isEmptyPath(path)) {
            if (this.contents == null)
                return false;
            // @ts-expect-error Presumed impossible if Strict extends false
            this.contents = null;
            return true;
        }
        return assertCollection(this.contents)
            ? this.contents.deleteIn(path)
            : false;
    }
    /**
     * Returns item at `key`, or `undefined` if not found. By default unwraps
     * scalar values from their surrounding node; to disable set `keepScalar` to
     * `true` (collections are always returned intact).
     */
    get(key, keepScalar) {
        return identity.isCollection(this.contents)
            ? this.contents.get(key, keepScalar)
            : undefined;
    }
    /**
     * Returns item at `path`, or `undefined` if not found. By default unwraps
     * scalar values from their surrounding node; to disable set `keepScalar` to
     * `true` (collections are always returned intact).
     */
    getIn(path, keepScalar) {
        if (Collection.isEmptyPath(path))
            return !keepScalar && identity.isScalar(this.contents)
                ? this.contents.value
                : this.contents;
        return identity.isCollection(this.contents)
            ? this.contents.getIn(path, keepScalar)
            : undefined;
    }
    /**
     * Checks if the document includes a value with the key `key`.
     */
    has(key) {
        return identity.isCollection(this.contents) ? this.contents.has(key) : false;
    }
    /**
     * Checks if the document includes a value at `path`.
     */
    hasIn(path) {
        if (Collection.isEmptyPath(path))
            return this.contents !== undefined;
        return identity.isCollection(this.contents) ? this.contents.hasIn(path) : false;
    }
    /**
     * Sets a value in this document. For `!!set`, `value` needs to be a
     * boolean to add/remove the item from the set.
     */
    set(key, value) {
        if (this.contents == null) {
            // @ts-expect-error We can't really know that this matches Contents.
            this.contents = Collection.collectionFromPath(this.schema, [key], value);
        }
        else if (assertCollection(this.contents)) {
            this.contents.set(key, value);
        }
    }
    /**
     * Sets a value in this document. For `!!set`, `value` needs to be a
     * boolean to add/remove the item from the set.
     */
    setIn(path, value) {
        if (Collection.isEmptyPath(path)) {
            // @ts-expect-error We can't really know that this matches Contents.
            this.contents = value;
        }
        else if (this.contents == null) {
            // @ts-expect-error We can't really know that this matches Contents.
            this.contents = Collection.collectionFromPath(this.schema, Array.from(path), value);
        }
        else if (assertCollection(this.contents)) {
            this.contents.setIn(path, value);
        }
    }
    /**
     * Change the YAML version and schema used by the document.
     * A `null` version disables support for directives, explicit tags, anchors, and aliases.
     * It also requires the `schema` option to be given as a `Schema` instance value.
     *
     * Overrides all previously set schema options.
     */
    setSchema(version, options = {}) {
        if (typeof version === 'number')
            version = String(version);
        let opt;
        switch (version) {
            case '1.1':
                if (this.directives)
                    this.directives.yaml.version = '1.1';
                else
                    this.directives = new directives.Directives({ version: '1.1' });
                opt = { resolveKnownTags: false, schema: 'yaml-1.1' };
                break;
            case '1.2':
            case 'next':
                if (this.directives)
                    this.directives.yaml.version = version;
                else
                    this.directives = new directives.Directives({ version });
                opt = { resolveKnownTags: true, schema: 'core' };
                break;
            case null:
                if (this.directives)
                    delete this.directives;
                opt = null;
                break;
            default: {
                const sv = JSON.stringify(version);
                throw new Error(`Expected '1.1', '1.2' or null as first argument, but found: ${sv}`);
            }
        }
        // Not using `instanceof Schema` to allow for duck typing
        if (options.schema instanceof Object)
            this.schema = options.schema;
        else if (opt)
            this.schema = new Schema.Schema(Object.assign(opt, options));
        else
            throw new Error(`With a null YAML version, the { schema: Schema } option is required`);
    }
    // json & jsonArg are only used from toJSON()
    toJS({ json, jsonArg, mapAsMap, maxAliasCount, onAnchor, reviver } = {}) {
        const ctx = {
            anchors: new Map(),
            doc: this,
            keep: !json,
            mapAsMap: mapAsMap === true,
            mapKeyWarned: false,
            maxAliasCount: typeof maxAliasCount === 'number' ? maxAliasCount : 100
        };
        const res = toJS.toJS(this.contents, jsonArg ?? '', ctx);
        if (typeof onAnchor === 'function')
            for (const { count, res } of ctx.anchors.values())
                onAnchor(res, count);
        return typeof reviver === 'function'
            ? applyReviver.applyReviver(reviver, { '': res }, '', res)
            : res;
    }
    /**
     * A JSON representation of the document `contents`.
     *
     * @param jsonArg Used by `JSON.stringify` to indicate the array index or
     *   property name.
     */
    toJSON(jsonArg, onAnchor) {
        return this.toJS({ json: true, jsonArg, mapAsMap: false, onAnchor });
    }
    /** A YAML representation of the document. */
    toString(options = {}) {
        if (this.errors.length > 0)
            throw new Error('Document with errors cannot be stringified');
        if ('indent' in options &&
            (!Number.isInteger(options.indent) || Number(options.indent) <= 0)) {
            const s = JSON.stringify(options.indent);
            throw new Error(`"indent" option must be a positive integer, not ${s}`);
        }
        return stringifyDocument.stringifyDocument(this, options);
    }
}
function assertCollection(contents) {
    if (identity.isCollection(contents))
        return true;
    throw new Error('Expected a YAML collection as document contents');
}

exports.Document = Document;


/***/ }),

/***/ 1596:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var visit = __nccwpck_require__(204);

/**
 * Verify that the input string is a valid anchor.
 *
 * Will throw on errors.
 */
function anchorIsValid(anchor) {
    if (/[\x00-\x19\s,[\]{}]/.test(anchor)) {
        const sa = JSON.stringify(anchor);
        const msg = `Anchor must not contain whitespace or control characters: ${sa}`;
        throw new Error(msg);
    }
    return true;
}
function anchorNames(root) {
    const anchors = new Set();
    visit.visit(root, {
        Value(_key, node) {
            if (node.anchor)
                anchors.add(node.anchor);
        }
    });
    return anchors;
}
/** Find a new anchor name with the given `prefix` and a one-indexed suffix. */
function findNewAnchor(prefix, exclude) {
    for (let i = 1; true; ++i) {
        const name = `${prefix}${i}`;
        if (!exclude.has(name))
            return name;
    }
}
function createNodeAnchors(doc, prefix) {
    const aliasObjects = [];
    const sourceObjects = new Map();
    let prevAnchors = null;
    return {
        onAnchor: (source) => {
            aliasObjects.push(source);
            prevAnchors ?? (prevAnchors = anchorNames(doc));
            const anchor = findNewAnchor(prefix, prevAnchors);
            prevAnchors.add(anchor);
            return anchor;
        },
        /**
         * With circular references, the source node is only resolved after all
         * of its child nodes are. This is why anchors are set only after all of
         * the nodes have been created.
         */
        setAnchors: () => {
            for (const source of aliasObjects) {
                const ref = sourceObjects.get(source);
                if (typeof ref === 'object' &&
                    ref.anchor &&
                    (identity.isScalar(ref.node) || identity.isCollection(ref.node))) {
                    ref.node.anchor = ref.anchor;
                }
                else {
                    const error = new Error('Failed to resolve repeated object (this should not happen)');
                    error.source = source;
                    throw error;
                }
            }
        },
        sourceObjects
    };
}

exports.anchorIsValid = anchorIsValid;
exports.anchorNames = anchorNames;
exports.createNodeAnchors = createNodeAnchors;
exports.findNewAnchor = findNewAnchor;


/***/ }),

/***/ 3661:
/***/ ((__unused_webpack_module, exports) => {



/**
 * Applies the JSON.parse reviver algorithm as defined in the ECMA-262 spec,
 * in section 24.5.1.1 "Runtime Semantics: InternalizeJSONProperty" of the
 * 2021 edition: https://tc39.es/ecma262/#sec-json.parse
 *
 * Includes extensions for handling Map and Set objects.
 */
function applyReviver(reviver, obj, key, val) {
    if (val && typeof val === 'object') {
        if (Array.isArray(val)) {
            for (let i = 0, len = val.length; i < len; ++i) {
                const v0 = val[i];
                const v1 = applyReviver(reviver, val, String(i), v0);
                // eslint-disable-next-line @typescript-eslint/no-array-delete
                if (v1 === undefined)
                    delete val[i];
                else if (v1 !== v0)
                    val[i] = v1;
            }
        }
        else if (val instanceof Map) {
            for (const k of Array.from(val.keys())) {
                const v0 = val.get(k);
                const v1 = applyReviver(reviver, val, k, v0);
                if (v1 === undefined)
                    val.delete(k);
                else if (v1 !== v0)
                    val.set(k, v1);
            }
        }
        else if (val instanceof Set) {
            for (const v0 of Array.from(val)) {
                const v1 = applyReviver(reviver, val, v0, v0);
                if (v1 === undefined)
                    val.delete(v0);
                else if (v1 !== v0) {
                    val.delete(v0);
                    val.add(v1);
                }
            }
        }
        else {
            for (const [k, v0] of Object.entries(val)) {
                const v1 = applyReviver(reviver, val, k, v0);
                if (v1 === undefined)
                    delete val[k];
                else if (v1 !== v0)
                    val[k] = v1;
            }
        }
    }
    return reviver.call(obj, key, val);
}

exports.applyReviver = applyReviver;


/***/ }),

/***/ 2404:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Alias = __nccwpck_require__(4065);
var identity = __nccwpck_require__(1127);
var Scalar = __nccwpck_require__(3301);

const defaultTagPrefix = 'tag:yaml.org,2002:';
function findTagObject(value, tagName, tags) {
    if (tagName) {
        const match = tags.filter(t => t.tag === tagName);
        const tagObj = match.find(t => !t.format) ?? match[0];
        if (!tagObj)
            throw new Error(`Tag ${tagName} not found`);
        return tagObj;
    }
    return tags.find(t => t.identify?.(value) && !t.format);
}
function createNode(value, tagName, ctx) {
    if (identity.isDocument(value))
        value = value.contents;
    if (identity.isNode(value))
        return value;
    if (identity.isPair(value)) {
        const map = ctx.schema[identity.MAP].createNode?.(ctx.schema, null, ctx);
        map.items.push(value);
        return map;
    }
    if (value instanceof String ||
        value instanceof Number ||
        value instanceof Boolean ||
        (typeof BigInt !== 'undefined' && value instanceof BigInt) // not supported everywhere
    ) {
        // https://tc39.es/ecma262/#sec-serializejsonproperty
        value = value.valueOf();
    }
    const { aliasDuplicateObjects, onAnchor, onTagObj, schema, sourceObjects } = ctx;
    // Detect duplicate references to the same object & use Alias nodes for all
    // after first. The `ref` wrapper allows for circular references to resolve.
    let ref = undefined;
    if (aliasDuplicateObjects && value && typeof value === 'object') {
        ref = sourceObjects.get(value);
        if (ref) {
            ref.anchor ?? (ref.anchor = onAnchor(value));
            return new Alias.Alias(ref.anchor);
        }
        else {
            ref = { anchor: null, node: null };
            sourceObjects.set(value, ref);
        }
    }
    if (tagName?.startsWith('!!'))
        tagName = defaultTagPrefix + tagName.slice(2);
    let tagObj = findTagObject(value, tagName, schema.tags);
    if (!tagObj) {
        if (value && typeof value.toJSON === 'function') {
            // eslint-disable-next-line @typescript-eslint/no-unsafe-call
            value = value.toJSON();
        }
        if (!value || typeof value !== 'object') {
            const node = new Scalar.Scalar(value);
            if (ref)
                ref.node = node;
            return node;
        }
        tagObj =
            value instanceof Map
                ? schema[identity.MAP]
                : Symbol.iterator in Object(value)
                    ? schema[identity.SEQ]
                    : schema[identity.MAP];
    }
    if (onTagObj) {
        onTagObj(tagObj);
        delete ctx.onTagObj;
    }
    const node = tagObj?.createNode
        ? tagObj.createNode(ctx.schema, value, ctx)
        : typeof tagObj?.nodeClass?.from === 'function'
            ? tagObj.nodeClass.from(ctx.schema, value, ctx)
            : new Scalar.Scalar(value);
    if (tagName)
        node.tag = tagName;
    else if (!tagObj.default)
        node.tag = tagObj.tag;
    if (ref)
        ref.node = node;
    return node;
}

exports.createNode = createNode;


/***/ }),

/***/ 1342:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var visit = __nccwpck_require__(204);

const escapeChars = {
    '!': '%21',
    ',': '%2C',
    '[': '%5B',
    ']': '%5D',
    '{': '%7B',
    '}': '%7D'
};
const escapeTagName = (tn) => tn.replace(/[!,[\]{}]/g, ch => escapeChars[ch]);
class Directives {
    constructor(yaml, tags) {
        /**
         * The directives-end/doc-start marker `---`. If `null`, a marker may still be
         * included in the document's stringified representation.
         */
        this.docStart = null;
        /** The doc-end marker `...`.  */
        this.docEnd = false;
        this.yaml = Object.assign({}, Directives.defaultYaml, yaml);
        this.tags = Object.assign({}, Directives.defaultTags, tags);
    }
    clone() {
        const copy = new Directives(this.yaml, this.tags);
        copy.docStart = this.docStart;
        return copy;
    }
    /**
     * During parsing, get a Directives instance for the current document and
     * update the stream state according to the current version's spec.
     */
    atDocument() {
        const res = new Directives(this.yaml, this.tags);
        switch (this.yaml.version) {
            case '1.1':
                this.atNextDocument = true;
                break;
            case '1.2':
                this.atNextDocument = false;
                this.yaml = {
                    explicit: Directives.defaultYaml.explicit,
                    version: '1.2'
                };
                this.tags = Object.assign({}, Directives.defaultTags);
                break;
        }
        return res;
    }
    /**
     * @param onError - May be called even if the action was successful
     * @returns `true` on success
     */
    add(line, onError) {
        if (this.atNextDocument) {
            this.yaml = { explicit: Directives.defaultYaml.explicit, version: '1.1' };
            this.tags = Object.assign({}, Directives.defaultTags);
            this.atNextDocument = false;
        }
        const parts = line.trim().split(/[ \t]+/);
        const name = parts.shift();
        switch (name) {
            case '%TAG': {
                if (parts.length !== 2) {
                    onError(0, '%TAG directive should contain exactly two parts');
                    if (parts.length < 2)
                        return false;
                }
                const [handle, prefix] = parts;
                this.tags[handle] = prefix;
                return true;
            }
            case '%YAML': {
                this.yaml.explicit = true;
                if (parts.length !== 1) {
                    onError(0, '%YAML directive should contain exactly one part');
                    return false;
                }
                const [version] = parts;
                if (version === '1.1' || version === '1.2') {
                    this.yaml.version = version;
                    return true;
                }
                else {
                    const isValid = /^\d+\.\d+$/.test(version);
                    onError(6, `Unsupported YAML version ${version}`, isValid);
                    return false;
                }
            }
            default:
                onError(0, `Unknown directive ${name}`, true);
                return false;
        }
    }
    /**
     * Resolves a tag, matching handles to those defined in %TAG directives.
     *
     * @returns Resolved tag, which may also be the non-specific tag `'!'` or a
     *   `'!local'` tag, or `null` if unresolvable.
     */
    tagName(source, onError) {
        if (source === '!')
            return '!'; // non-specific tag
        if (source[0] !== '!') {
            onError(`Not a valid tag: ${source}`);
            return null;
        }
        if (source[1] === '<') {
            const verbatim = source.slice(2, -1);
            if (verbatim === '!' || verbatim === '!!') {
                onError(`Verbatim tags aren't resolved, so ${source} is invalid.`);
                return null;
            }
            if (source[source.length - 1] !== '>')
                onError('Verbatim tags must end with a >');
            return verbatim;
        }
        const [, handle, suffix] = source.match(/^(.*!)([^!]*)$/s);
        if (!suffix)
            onError(`The ${source} tag has no suffix`);
        const prefix = this.tags[handle];
        if (prefix) {
            try {
                return prefix + decodeURIComponent(suffix);
            }
            catch (error) {
                onError(String(error));
                return null;
            }
        }
        if (handle === '!')
            return source; // local tag
        onError(`Could not resolve tag: ${source}`);
        return null;
    }
    /**
     * Given a fully resolved tag, returns its printable string form,
     * taking into account current tag prefixes and defaults.
     */
    tagString(tag) {
        for (const [handle, prefix] of Object.entries(this.tags)) {
            if (tag.startsWith(prefix))
                return handle + escapeTagName(tag.substring(prefix.length));
        }
        return tag[0] === '!' ? tag : `!<${tag}>`;
    }
    toString(doc) {
        const lines = this.yaml.explicit
            ? [`%YAML ${this.yaml.version || '1.2'}`]
            : [];
        const tagEntries = Object.entries(this.tags);
        let tagNames;
        if (doc && tagEntries.length > 0 && identity.isNode(doc.contents)) {
            const tags = {};
            visit.visit(doc.contents, (_key, node) => {
                if (identity.isNode(node) && node.tag)
                    tags[node.tag] = true;
            });
            tagNames = Object.keys(tags);
        }
        else
            tagNames = [];
        for (const [handle, prefix] of tagEntries) {
            if (handle === '!!' && prefix === 'tag:yaml.org,2002:')
                continue;
            if (!doc || tagNames.some(tn => tn.startsWith(prefix)))
                lines.push(`%TAG ${handle} ${prefix}`);
        }
        return lines.join('\n');
    }
}
Directives.defaultYaml = { explicit: false, version: '1.2' };
Directives.defaultTags = { '!!': 'tag:yaml.org,2002:' };

exports.Directives = Directives;


/***/ }),

/***/ 1464:
/***/ ((__unused_webpack_module, exports) => {



class YAMLError extends Error {
    constructor(name, pos, code, message) {
        super();
        this.name = name;
        this.code = code;
        this.message = message;
        this.pos = pos;
    }
}
class YAMLParseError extends YAMLError {
    constructor(pos, code, message) {
        super('YAMLParseError', pos, code, message);
    }
}
class YAMLWarning extends YAMLError {
    constructor(pos, code, message) {
        super('YAMLWarning', pos, code, message);
    }
}
const prettifyError = (src, lc) => (error) => {
    if (error.pos[0] === -1)
        return;
    error.linePos = error.pos.map(pos => lc.linePos(pos));
    const { line, col } = error.linePos[0];
    error.message += ` at line ${line}, column ${col}`;
    let ci = col - 1;
    let lineStr = src
        .substring(lc.lineStarts[line - 1], lc.lineStarts[line])
        .replace(/[\n\r]+$/, '');
    // Trim to max 80 chars, keeping col position near the middle
    if (ci >= 60 && lineStr.length > 80) {
        const trimStart = Math.min(ci - 39, lineStr.length - 79);
        lineStr = '…' + lineStr.substring(trimStart);
        ci -= trimStart - 1;
    }
    if (lineStr.length > 80)
        lineStr = lineStr.substring(0, 79) + '…';
    // Include previous line in context if pointing at line start
    if (line > 1 && /^ *$/.test(lineStr.substring(0, ci))) {
        // Regexp won't match if start is trimmed
        let prev = src.substring(lc.lineStarts[line - 2], lc.lineStarts[line - 1]);
        if (prev.length > 80)
            prev = prev.substring(0, 79) + '…\n';
        lineStr = prev + lineStr;
    }
    if (/[^ ]/.test(lineStr)) {
        let count = 1;
        const end = error.linePos[1];
        if (end?.line === line && end.col > col) {
            count = Math.max(1, Math.min(end.col - col, 80 - ci));
        }
        const pointer = ' '.repeat(ci) + '^'.repeat(count);
        error.message += `:\n\n${lineStr}\n${pointer}\n`;
    }
};

exports.YAMLError = YAMLError;
exports.YAMLParseError = YAMLParseError;
exports.YAMLWarning = YAMLWarning;
exports.prettifyError = prettifyError;


/***/ }),

/***/ 8815:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {

var __webpack_unused_export__;


var composer = __nccwpck_require__(9984);
var Document = __nccwpck_require__(3021);
var Schema = __nccwpck_require__(5840);
var errors = __nccwpck_require__(1464);
var Alias = __nccwpck_require__(4065);
var identity = __nccwpck_require__(1127);
var Pair = __nccwpck_require__(7165);
var Scalar = __nccwpck_require__(3301);
var YAMLMap = __nccwpck_require__(4454);
var YAMLSeq = __nccwpck_require__(2223);
var cst = __nccwpck_require__(3461);
var lexer = __nccwpck_require__(361);
var lineCounter = __nccwpck_require__(6628);
var parser = __nccwpck_require__(3456);
var publicApi = __nccwpck_require__(4047);
var visit = __nccwpck_require__(204);



__webpack_unused_export__ = composer.Composer;
exports.yo = Document.Document;
__webpack_unused_export__ = Schema.Schema;
__webpack_unused_export__ = errors.YAMLError;
__webpack_unused_export__ = errors.YAMLParseError;
__webpack_unused_export__ = errors.YAMLWarning;
__webpack_unused_export__ = Alias.Alias;
__webpack_unused_export__ = identity.isAlias;
__webpack_unused_export__ = identity.isCollection;
__webpack_unused_export__ = identity.isDocument;
__webpack_unused_export__ = identity.isMap;
__webpack_unused_export__ = identity.isNode;
__webpack_unused_export__ = identity.isPair;
__webpack_unused_export__ = identity.isScalar;
__webpack_unused_export__ = identity.isSeq;
__webpack_unused_export__ = Pair.Pair;
__webpack_unused_export__ = Scalar.Scalar;
__webpack_unused_export__ = YAMLMap.YAMLMap;
__webpack_unused_export__ = YAMLSeq.YAMLSeq;
__webpack_unused_export__ = cst;
__webpack_unused_export__ = lexer.Lexer;
__webpack_unused_export__ = lineCounter.LineCounter;
__webpack_unused_export__ = parser.Parser;
__webpack_unused_export__ = publicApi.parse;
__webpack_unused_export__ = publicApi.parseAllDocuments;
__webpack_unused_export__ = publicApi.parseDocument;
__webpack_unused_export__ = publicApi.stringify;
__webpack_unused_export__ = visit.visit;
__webpack_unused_export__ = visit.visitAsync;


/***/ }),

/***/ 7249:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var node_process = __nccwpck_require__(932);

function debug(logLevel, ...messages) {
    if (logLevel === 'debug')
        console.log(...messages);
}
function warn(logLevel, warning) {
    if (logLevel === 'debug' || logLevel === 'warn') {
        if (typeof node_process.emitWarning === 'function')
            node_process.emitWarning(warning);
        else
            console.warn(warning);
    }
}

exports.debug = debug;
exports.warn = warn;


/***/ }),

/***/ 4065:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var anchors = __nccwpck_require__(1596);
var visit = __nccwpck_require__(204);
var identity = __nccwpck_require__(1127);
var Node = __nccwpck_require__(6673);
var toJS = __nccwpck_require__(4043);

class Alias extends Node.NodeBase {
    constructor(source) {
        super(identity.ALIAS);
        this.source = source;
        Object.defineProperty(this, 'tag', {
            set() {
                throw new Error('Alias nodes cannot have tags');
            }
        });
    }
    /**
     * Resolve the value of this alias within `doc`, finding the last
     * instance of the `source` anchor before this node.
     */
    resolve(doc, ctx) {
        if (ctx?.maxAliasCount === 0)
            throw new ReferenceError('Alias resolution is disabled');
        let nodes;
        if (ctx?.aliasResolveCache) {
            nodes = ctx.aliasResolveCache;
        }
        else {
            nodes = [];
            visit.visit(doc, {
                Node: (_key, node) => {
                    if (identity.isAlias(node) || identity.hasAnchor(node))
                        nodes.push(node);
                }
            });
            if (ctx)
                ctx.aliasResolveCache = nodes;
        }
        let found = undefined;
        for (const node of nodes) {
            if (node === this)
                break;
            if (node.anchor === this.source)
                found = node;
        }
        if (found && ctx) {
            const { anchors, doc, maxAliasCount } = ctx;
            let data = anchors.get(found);
            if (!data) {
                // Resolve anchors for Node.prototype.toJS()
                toJS.toJS(found, null, ctx);
                data = anchors.get(found);
            }
            /* istanbul ignore if */
            if (data?.res === undefined) {
                const msg = 'This should not happen: Alias anchor was not resolved?';
                throw new ReferenceError(msg);
            }
            if (maxAliasCount >= 0) {
                data.count += 1;
                if (data.aliasCount === 0)
                    data.aliasCount = getAliasCount(doc, found, anchors);
                if (data.count * data.aliasCount > maxAliasCount) {
                    const msg = 'Excessive alias count indicates a resource exhaustion attack';
                    throw new ReferenceError(msg);
                }
            }
        }
        return found;
    }
    toJSON(_arg, ctx) {
        if (!ctx)
            return { source: this.source };
        const source = this.resolve(ctx.doc, ctx);
        if (!source) {
            const msg = `Unresolved alias (the anchor must be set before the alias): ${this.source}`;
            throw new ReferenceError(msg);
        }
        return ctx.anchors.get(source).res;
    }
    toString(ctx, _onComment, _onChompKeep) {
        const src = `*${this.source}`;
        if (ctx) {
            anchors.anchorIsValid(this.source);
            if (ctx.options.verifyAliasOrder && !ctx.anchors.has(this.source)) {
                const msg = `Unresolved alias (the anchor must be set before the alias): ${this.source}`;
                throw new Error(msg);
            }
            if (ctx.implicitKey)
                return `${src} `;
        }
        return src;
    }
}
function getAliasCount(doc, node, anchors) {
    if (identity.isAlias(node)) {
        const source = node.resolve(doc);
        const anchor = anchors && source && anchors.get(source);
        return anchor ? anchor.count * anchor.aliasCount : 0;
    }
    else if (identity.isCollection(node)) {
        let count = 0;
        for (const item of node.items) {
            const c = getAliasCount(doc, item, anchors);
            if (c > count)
                count = c;
        }
        return count;
    }
    else if (identity.isPair(node)) {
        const kc = getAliasCount(doc, node.key, anchors);
        const vc = getAliasCount(doc, node.value, anchors);
        return Math.max(kc, vc);
    }
    return 1;
}

exports.Alias = Alias;


/***/ }),

/***/ 101:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var createNode = __nccwpck_require__(2404);
var identity = __nccwpck_require__(1127);
var Node = __nccwpck_require__(6673);

function collectionFromPath(schema, path, value) {
    let v = value;
    for (let i = path.length - 1; i >= 0; --i) {
        const k = path[i];
        if (typeof k === 'number' && Number.isInteger(k) && k >= 0) {
            const a = [];
            a[k] = v;
            v = a;
        }
        else {
            v = new Map([[k, v]]);
        }
    }
    return createNode.createNode(v, undefined, {
        aliasDuplicateObjects: false,
        keepUndefined: false,
        onAnchor: () => {
            throw new Error('This should not happen, please report a bug.');
        },
        schema,
        sourceObjects: new Map()
    });
}
// Type guard is intentionally a little wrong so as to be more useful,
// as it does not cover untypable empty non-string iterables (e.g. []).
const isEmptyPath = (path) => path == null ||
    (typeof path === 'object' && !!path[Symbol.iterator]().next().done);
class Collection extends Node.NodeBase {
    constructor(type, schema) {
        super(type);
        Object.defineProperty(this, 'schema', {
            value: schema,
            configurable: true,
            enumerable: false,
            writable: true
        });
    }
    /**
     * Create a copy of this collection.
     *
     * @param schema - If defined, overwrites the original's schema
     */
    clone(schema) {
        const copy = Object.create(Object.getPrototypeOf(this), Object.getOwnPropertyDescriptors(this));
        if (schema)
            copy.schema = schema;
        copy.items = copy.items.map(it => identity.isNode(it) || identity.isPair(it) ? it.clone(schema) : it);
        if (this.range)
            copy.range = this.range.slice();
        return copy;
    }
    /**
     * Adds a value to the collection. For `!!map` and `!!omap` the value must
     * be a Pair instance or a `{ key, value }` object, which may not have a key
     * that already exists in the map.
     */
    addIn(path, value) {
        if (isEmptyPath(path))
            this.add(value);
        else {
            const [key, ...rest] = path;
            const node = this.get(key, true);
            if (identity.isCollection(node))
                node.addIn(rest, value);
            else if (node === undefined && this.schema)
                this.set(key, collectionFromPath(this.schema, rest, value));
            else
                throw new Error(`Expected YAML collection at ${key}. Remaining path: ${rest}`);
        }
    }
    /**
     * Removes a value from the collection.
     * @returns `true` if the item was found and removed.
     */
    deleteIn(path) {
        const [key, ...rest] = path;
        if (rest.length === 0)
            return this.delete(key);
        const node = this.get(key, true);
        if (identity.isCollection(node))
            return node.deleteIn(rest);
        else
            throw new Error(`Expected YAML collection at ${key}. Remaining path: ${rest}`);
    }
    /**
     * Returns item at `key`, or `undefined` if not found. By default unwraps
     * scalar values from their surrounding node; to disable set `keepScalar` to
     * `true` (collections are always returned intact).
     */
    getIn(path, keepScalar) {
        const [key, ...rest] = path;
        const node = this.get(key, true);
        if (rest.length === 0)
            return !keepScalar && identity.isScalar(node) ? node.value : node;
        else
            return identity.isCollection(node) ? node.getIn(rest, keepScalar) : undefined;
    }
    hasAllNullValues(allowScalar) {
        return this.items.every(node => {
            if (!identity.isPair(node))
                return false;
            const n = node.value;
            return (n == null ||
                (allowScalar &&
                    identity.isScalar(n) &&
                    n.value == null &&
                    !n.commentBefore &&
                    !n.comment &&
                    !n.tag));
        });
    }
    /**
     * Checks if the collection includes a value with the key `key`.
     */
    hasIn(path) {
        const [key, ...rest] = path;
        if (rest.length === 0)
            return this.has(key);
        const node = this.get(key, true);
        return identity.isCollection(node) ? node.hasIn(rest) : false;
    }
    /**
     * Sets a value in this collection. For `!!set`, `value` needs to be a
     * boolean to add/remove the item from the set.
     */
    setIn(path, value) {
        const [key, ...rest] = path;
        if (rest.length === 0) {
            this.set(key, value);
        }
        else {
            const node = this.get(key, true);
            if (identity.isCollection(node))
                node.setIn(rest, value);
            else if (node === undefined && this.schema)
                this.set(key, collectionFromPath(this.schema, rest, value));
            else
                throw new Error(`Expected YAML collection at ${key}. Remaining path: ${rest}`);
        }
    }
}

exports.Collection = Collection;
exports.collectionFromPath = collectionFromPath;
exports.isEmptyPath = isEmptyPath;


/***/ }),

/***/ 6673:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var applyReviver = __nccwpck_require__(3661);
var identity = __nccwpck_require__(1127);
var toJS = __nccwpck_require__(4043);

class NodeBase {
    constructor(type) {
        Object.defineProperty(this, identity.NODE_TYPE, { value: type });
    }
    /** Create a copy of this node.  */
    clone() {
        const copy = Object.create(Object.getPrototypeOf(this), Object.getOwnPropertyDescriptors(this));
        if (this.range)
            copy.range = this.range.slice();
        return copy;
    }
    /** A plain JavaScript representation of this node. */
    toJS(doc, { mapAsMap, maxAliasCount, onAnchor, reviver } = {}) {
        if (!identity.isDocument(doc))
            throw new TypeError('A document argument is required');
        const ctx = {
            anchors: new Map(),
            doc,
            keep: true,
            mapAsMap: mapAsMap === true,
            mapKeyWarned: false,
            maxAliasCount: typeof maxAliasCount === 'number' ? maxAliasCount : 100
        };
        const res = toJS.toJS(this, '', ctx);
        if (typeof onAnchor === 'function')
            for (const { count, res } of ctx.anchors.values())
                onAnchor(res, count);
        return typeof reviver === 'function'
            ? applyReviver.applyReviver(reviver, { '': res }, '', res)
            : res;
    }
}

exports.NodeBase = NodeBase;


/***/ }),

/***/ 7165:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var createNode = __nccwpck_require__(2404);
var stringifyPair = __nccwpck_require__(9748);
var addPairToJSMap = __nccwpck_require__(7104);
var identity = __nccwpck_require__(1127);

function createPair(key, value, ctx) {
    const k = createNode.createNode(key, undefined, ctx);
    const v = createNode.createNode(value, undefined, ctx);
    return new Pair(k, v);
}
class Pair {
    constructor(key, value = null) {
        Object.defineProperty(this, identity.NODE_TYPE, { value: identity.PAIR });
        this.key = key;
        this.value = value;
    }
    clone(schema) {
        let { key, value } = this;
        if (identity.isNode(key))
            key = key.clone(schema);
        if (identity.isNode(value))
            value = value.clone(schema);
        return new Pair(key, value);
    }
    toJSON(_, ctx) {
        const pair = ctx?.mapAsMap ? new Map() : {};
        return addPairToJSMap.addPairToJSMap(ctx, pair, this);
    }
    toString(ctx, onComment, onChompKeep) {
        return ctx?.doc
            ? stringifyPair.stringifyPair(this, ctx, onComment, onChompKeep)
            : JSON.stringify(this);
    }
}

exports.Pair = Pair;
exports.createPair = createPair;


/***/ }),

/***/ 3301:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var Node = __nccwpck_require__(6673);
var toJS = __nccwpck_require__(4043);

const isScalarValue = (value) => !value || (typeof value !== 'function' && typeof value !== 'object');
class Scalar extends Node.NodeBase {
    constructor(value) {
        super(identity.SCALAR);
        this.value = value;
    }
    toJSON(arg, ctx) {
        return ctx?.keep ? this.value : toJS.toJS(this.value, arg, ctx);
    }
    toString() {
        return String(this.value);
    }
}
Scalar.BLOCK_FOLDED = 'BLOCK_FOLDED';
Scalar.BLOCK_LITERAL = 'BLOCK_LITERAL';
Scalar.PLAIN = 'PLAIN';
Scalar.QUOTE_DOUBLE = 'QUOTE_DOUBLE';
Scalar.QUOTE_SINGLE = 'QUOTE_SINGLE';

exports.Scalar = Scalar;
exports.isScalarValue = isScalarValue;


/***/ }),

/***/ 4454:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var stringifyCollection = __nccwpck_require__(1212);
var addPairToJSMap = __nccwpck_require__(7104);
var Collection = __nccwpck_require__(101);
var identity = __nccwpck_require__(1127);
var Pair = __nccwpck_require__(7165);
var Scalar = __nccwpck_require__(3301);

function findPair(items, key) {
    const k = identity.isScalar(key) ? key.value : key;
    for (const it of items) {
        if (identity.isPair(it)) {
            if (it.key === key || it.key === k)
                return it;
            if (identity.isScalar(it.key) && it.key.value === k)
                return it;
        }
    }
    return undefined;
}
class YAMLMap extends Collection.Collection {
    static get tagName() {
        return 'tag:yaml.org,2002:map';
    }
    constructor(schema) {
        super(identity.MAP, schema);
        this.items = [];
    }
    /**
     * A generic collection parsing method that can be extended
     * to other node classes that inherit from YAMLMap
     */
    static from(schema, obj, ctx) {
        const { keepUndefined, replacer } = ctx;
        const map = new this(schema);
        const add = (key, value) => {
            if (typeof replacer === 'function')
                value = replacer.call(obj, key, value);
            else if (Array.isArray(replacer) && !replacer.includes(key))
                return;
            if (value !== undefined || keepUndefined)
                map.items.push(Pair.createPair(key, value, ctx));
        };
        if (obj instanceof Map) {
            for (const [key, value] of obj)
                add(key, value);
        }
        else if (obj && typeof obj === 'object') {
            for (const key of Object.keys(obj))
                add(key, obj[key]);
        }
        if (typeof schema.sortMapEntries === 'function') {
            map.items.sort(schema.sortMapEntries);
        }
        return map;
    }
    /**
     * Adds a value to the collection.
     *
     * @param overwrite - If not set `true`, using a key that is already in the
     *   collection will throw. Otherwise, overwrites the previous value.
     */
    add(pair, overwrite) {
        let _pair;
        if (identity.isPair(pair))
            _pair = pair;
        else if (!pair || typeof pair !== 'object' || !('key' in pair)) {
            // In TypeScript, this never happens.
            _pair = new Pair.Pair(pair, pair?.value);
        }
        else
            _pair = new Pair.Pair(pair.key, pair.value);
        const prev = findPair(this.items, _pair.key);
        const sortEntries = this.schema?.sortMapEntries;
        if (prev) {
            if (!overwrite)
                throw new Error(`Key ${_pair.key} already set`);
            // For scalars, keep the old node & its comments and anchors
            if (identity.isScalar(prev.value) && Scalar.isScalarValue(_pair.value))
                prev.value.value = _pair.value;
            else
                prev.value = _pair.value;
        }
        else if (sortEntries) {
            const i = this.items.findIndex(item => sortEntries(_pair, item) < 0);
            if (i === -1)
                this.items.push(_pair);
            else
                this.items.splice(i, 0, _pair);
        }
        else {
            this.items.push(_pair);
        }
    }
    delete(key) {
        const it = findPair(this.items, key);
        if (!it)
            return false;
        const del = this.items.splice(this.items.indexOf(it), 1);
        return del.length > 0;
    }
    get(key, keepScalar) {
        const it = findPair(this.items, key);
        const node = it?.value;
        return (!keepScalar && identity.isScalar(node) ? node.value : node) ?? undefined;
    }
    has(key) {
        return !!findPair(this.items, key);
    }
    set(key, value) {
        this.add(new Pair.Pair(key, value), true);
    }
    /**
     * @param ctx - Conversion context, originally set in Document#toJS()
     * @param {Class} Type - If set, forces the returned collection type
     * @returns Instance of Type, Map, or Object
     */
    toJSON(_, ctx, Type) {
        const map = Type ? new Type() : ctx?.mapAsMap ? new Map() : {};
        if (ctx?.onCreate)
            ctx.onCreate(map);
        for (const item of this.items)
            addPairToJSMap.addPairToJSMap(ctx, map, item);
        return map;
    }
    toString(ctx, onComment, onChompKeep) {
        if (!ctx)
            return JSON.stringify(this);
        for (const item of this.items) {
            if (!identity.isPair(item))
                throw new Error(`Map items must all be pairs; found ${JSON.stringify(item)} instead`);
        }
        if (!ctx.allNullValues && this.hasAllNullValues(false))
            ctx = Object.assign({}, ctx, { allNullValues: true });
        return stringifyCollection.stringifyCollection(this, ctx, {
            blockItemPrefix: '',
            flowChars: { start: '{', end: '}' },
            itemIndent: ctx.indent || '',
            onChompKeep,
            onComment
        });
    }
}

exports.YAMLMap = YAMLMap;
exports.findPair = findPair;


/***/ }),

/***/ 2223:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var createNode = __nccwpck_require__(2404);
var stringifyCollection = __nccwpck_require__(1212);
var Collection = __nccwpck_require__(101);
var identity = __nccwpck_require__(1127);
var Scalar = __nccwpck_require__(3301);
var toJS = __nccwpck_require__(4043);

class YAMLSeq extends Collection.Collection {
    static get tagName() {
        return 'tag:yaml.org,2002:seq';
    }
    constructor(schema) {
        super(identity.SEQ, schema);
        this.items = [];
    }
    add(value) {
        this.items.push(value);
    }
    /**
     * Removes a value from the collection.
     *
     * `key` must contain a representation of an integer for this to succeed.
     * It may be wrapped in a `Scalar`.
     *
     * @returns `true` if the item was found and removed.
     */
    delete(key) {
        const idx = asItemIndex(key);
        if (typeof idx !== 'number')
            return false;
        const del = this.items.splice(idx, 1);
        return del.length > 0;
    }
    get(key, keepScalar) {
        const idx = asItemIndex(key);
        if (typeof idx !== 'number')
            return undefined;
        const it = this.items[idx];
        return !keepScalar && identity.isScalar(it) ? it.value : it;
    }
    /**
     * Checks if the collection includes a value with the key `key`.
     *
     * `key` must contain a representation of an integer for this to succeed.
     * It may be wrapped in a `Scalar`.
     */
    has(key) {
        const idx = asItemIndex(key);
        return typeof idx === 'number' && idx < this.items.length;
    }
    /**
     * Sets a value in this collection. For `!!set`, `value` needs to be a
     * boolean to add/remove the item from the set.
     *
     * If `key` does not contain a representation of an integer, this will throw.
     * It may be wrapped in a `Scalar`.
     */
    set(key, value) {
        const idx = asItemIndex(key);
        if (typeof idx !== 'number')
            throw new Error(`Expected a valid index, not ${key}.`);
        const prev = this.items[idx];
        if (identity.isScalar(prev) && Scalar.isScalarValue(value))
            prev.value = value;
        else
            this.items[idx] = value;
    }
    toJSON(_, ctx) {
        const seq = [];
        if (ctx?.onCreate)
            ctx.onCreate(seq);
        let i = 0;
        for (const item of this.items)
            seq.push(toJS.toJS(item, String(i++), ctx));
        return seq;
    }
    toString(ctx, onComment, onChompKeep) {
        if (!ctx)
            return JSON.stringify(this);
        return stringifyCollection.stringifyCollection(this, ctx, {
            blockItemPrefix: '- ',
            flowChars: { start: '[', end: ']' },
            itemIndent: (ctx.indent || '') + '  ',
            onChompKeep,
            onComment
        });
    }
    static from(schema, obj, ctx) {
        const { replacer } = ctx;
        const seq = new this(schema);
        if (obj && Symbol.iterator in Object(obj)) {
            let i = 0;
            for (let it of obj) {
                if (typeof replacer === 'function') {
                    const key = obj instanceof Set ? it : String(i++);
                    it = replacer.call(obj, key, it);
                }
                seq.items.push(createNode.createNode(it, undefined, ctx));
            }
        }
        return seq;
    }
}
function asItemIndex(key) {
    let idx = identity.isScalar(key) ? key.value : key;
    if (idx && typeof idx === 'string')
        idx = Number(idx);
    return typeof idx === 'number' && Number.isInteger(idx) && idx >= 0
        ? idx
        : null;
}

exports.YAMLSeq = YAMLSeq;


/***/ }),

/***/ 7104:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var log = __nccwpck_require__(7249);
var merge = __nccwpck_require__(452);
var stringify = __nccwpck_require__(2148);
var identity = __nccwpck_require__(1127);
var toJS = __nccwpck_require__(4043);

function addPairToJSMap(ctx, map, { key, value }) {
    if (identity.isNode(key) && key.addToJSMap)
        key.addToJSMap(ctx, map, value);
    // TODO: Should drop this special case for bare << handling
    else if (merge.isMergeKey(ctx, key))
        merge.addMergeToJSMap(ctx, map, value);
    else {
        const jsKey = toJS.toJS(key, '', ctx);
        if (map instanceof Map) {
            map.set(jsKey, toJS.toJS(value, jsKey, ctx));
        }
        else if (map instanceof Set) {
            map.add(jsKey);
        }
        else {
            const stringKey = stringifyKey(key, jsKey, ctx);
            const jsValue = toJS.toJS(value, stringKey, ctx);
            if (stringKey in map)
                Object.defineProperty(map, stringKey, {
                    value: jsValue,
                    writable: true,
                    enumerable: true,
                    configurable: true
                });
            else
                map[stringKey] = jsValue;
        }
    }
    return map;
}
function stringifyKey(key, jsKey, ctx) {
    if (jsKey === null)
        return '';
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    if (typeof jsKey !== 'object')
        return String(jsKey);
    if (identity.isNode(key) && ctx?.doc) {
        const strCtx = stringify.createStringifyContext(ctx.doc, {});
        strCtx.anchors = new Set();
        for (const node of ctx.anchors.keys())
            strCtx.anchors.add(node.anchor);
        strCtx.inFlow = true;
        strCtx.inStringifyKey = true;
        const strKey = key.toString(strCtx);
        if (!ctx.mapKeyWarned) {
            let jsonStr = JSON.stringify(strKey);
            if (jsonStr.length > 40)
                jsonStr = jsonStr.substring(0, 36) + '..."';
            log.warn(ctx.doc.options.logLevel, `Keys with collection values will be stringified due to JS Object restrictions: ${jsonStr}. Set mapAsMap: true to use object keys.`);
            ctx.mapKeyWarned = true;
        }
        return strKey;
    }
    return JSON.stringify(jsKey);
}

exports.addPairToJSMap = addPairToJSMap;


/***/ }),

/***/ 1127:
/***/ ((__unused_webpack_module, exports) => {



const ALIAS = Symbol.for('yaml.alias');
const DOC = Symbol.for('yaml.document');
const MAP = Symbol.for('yaml.map');
const PAIR = Symbol.for('yaml.pair');
const SCALAR = Symbol.for('yaml.scalar');
const SEQ = Symbol.for('yaml.seq');
const NODE_TYPE = Symbol.for('yaml.node.type');
const isAlias = (node) => !!node && typeof node === 'object' && node[NODE_TYPE] === ALIAS;
const isDocument = (node) => !!node && typeof node === 'object' && node[NODE_TYPE] === DOC;
const isMap = (node) => !!node && typeof node === 'object' && node[NODE_TYPE] === MAP;
const isPair = (node) => !!node && typeof node === 'object' && node[NODE_TYPE] === PAIR;
const isScalar = (node) => !!node && typeof node === 'object' && node[NODE_TYPE] === SCALAR;
const isSeq = (node) => !!node && typeof node === 'object' && node[NODE_TYPE] === SEQ;
function isCollection(node) {
    if (node && typeof node === 'object')
        switch (node[NODE_TYPE]) {
            case MAP:
            case SEQ:
                return true;
        }
    return false;
}
function isNode(node) {
    if (node && typeof node === 'object')
        switch (node[NODE_TYPE]) {
            case ALIAS:
            case MAP:
            case SCALAR:
            case SEQ:
                return true;
        }
    return false;
}
const hasAnchor = (node) => (isScalar(node) || isCollection(node)) && !!node.anchor;

exports.ALIAS = ALIAS;
exports.DOC = DOC;
exports.MAP = MAP;
exports.NODE_TYPE = NODE_TYPE;
exports.PAIR = PAIR;
exports.SCALAR = SCALAR;
exports.SEQ = SEQ;
exports.hasAnchor = hasAnchor;
exports.isAlias = isAlias;
exports.isCollection = isCollection;
exports.isDocument = isDocument;
exports.isMap = isMap;
exports.isNode = isNode;
exports.isPair = isPair;
exports.isScalar = isScalar;
exports.isSeq = isSeq;


/***/ }),

/***/ 4043:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);

/**
 * Recursively convert any node or its contents to native JavaScript
 *
 * @param value - The input value
 * @param arg - If `value` defines a `toJSON()` method, use this
 *   as its first argument
 * @param ctx - Conversion context, originally set in Document#toJS(). If
 *   `{ keep: true }` is not set, output should be suitable for JSON
 *   stringification.
 */
function toJS(value, arg, ctx) {
    // eslint-disable-next-line @typescript-eslint/no-unsafe-return
    if (Array.isArray(value))
        return value.map((v, i) => toJS(v, String(i), ctx));
    if (value && typeof value.toJSON === 'function') {
        // eslint-disable-next-line @typescript-eslint/no-unsafe-call
        if (!ctx || !identity.hasAnchor(value))
            return value.toJSON(arg, ctx);
        const data = { aliasCount: 0, count: 1, res: undefined };
        ctx.anchors.set(value, data);
        ctx.onCreate = res => {
            data.res = res;
            delete ctx.onCreate;
        };
        const res = value.toJSON(arg, ctx);
        if (ctx.onCreate)
            ctx.onCreate(res);
        return res;
    }
    if (typeof value === 'bigint' && !ctx?.keep)
        return Number(value);
    return value;
}

exports.toJS = toJS;


/***/ }),

/***/ 110:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var resolveBlockScalar = __nccwpck_require__(8913);
var resolveFlowScalar = __nccwpck_require__(6842);
var errors = __nccwpck_require__(1464);
var stringifyString = __nccwpck_require__(3069);

function resolveAsScalar(token, strict = true, onError) {
    if (token) {
        const _onError = (pos, code, message) => {
            const offset = typeof pos === 'number' ? pos : Array.isArray(pos) ? pos[0] : pos.offset;
            if (onError)
                onError(offset, code, message);
            else
                throw new errors.YAMLParseError([offset, offset + 1], code, message);
        };
        switch (token.type) {
            case 'scalar':
            case 'single-quoted-scalar':
            case 'double-quoted-scalar':
                return resolveFlowScalar.resolveFlowScalar(token, strict, _onError);
            case 'block-scalar':
                return resolveBlockScalar.resolveBlockScalar({ options: { strict } }, token, _onError);
        }
    }
    return null;
}
/**
 * Create a new scalar token with `value`
 *
 * Values that represent an actual string but may be parsed as a different type should use a `type` other than `'PLAIN'`,
 * as this function does not support any schema operations and won't check for such conflicts.
 *
 * @param value The string representation of the value, which will have its content properly indented.
 * @param context.end Comments and whitespace after the end of the value, or after the block scalar header. If undefined, a newline will be added.
 * @param context.implicitKey Being within an implicit key may affect the resolved type of the token's value.
 * @param context.indent The indent level of the token.
 * @param context.inFlow Is this scalar within a flow collection? This may affect the resolved type of the token's value.
 * @param context.offset The offset position of the token.
 * @param context.type The preferred type of the scalar token. If undefined, the previous type of the `token` will be used, defaulting to `'PLAIN'`.
 */
function createScalarToken(value, context) {
    const { implicitKey = false, indent, inFlow = false, offset = -1, type = 'PLAIN' } = context;
    const source = stringifyString.stringifyString({ type, value }, {
        implicitKey,
        indent: indent > 0 ? ' '.repeat(indent) : '',
        inFlow,
        options: { blockQuote: true, lineWidth: -1 }
    });
    const end = context.end ?? [
        { type: 'newline', offset: -1, indent, source: '\n' }
    ];
    switch (source[0]) {
        case '|':
        case '>': {
            const he = source.indexOf('\n');
            const head = source.substring(0, he);
            const body = source.substring(he + 1) + '\n';
            const props = [
                { type: 'block-scalar-header', offset, indent, source: head }
            ];
            if (!addEndtoBlockProps(props, end))
                props.push({ type: 'newline', offset: -1, indent, source: '\n' });
            return { type: 'block-scalar', offset, indent, props, source: body };
        }
        case '"':
            return { type: 'double-quoted-scalar', offset, indent, source, end };
        case "'":
            return { type: 'single-quoted-scalar', offset, indent, source, end };
        default:
            return { type: 'scalar', offset, indent, source, end };
    }
}
/**
 * Set the value of `token` to the given string `value`, overwriting any previous contents and type that it may have.
 *
 * Best efforts are made to retain any comments previously associated with the `token`,
 * though all contents within a collection's `items` will be overwritten.
 *
 * Values that represent an actual string but may be parsed as a different type should use a `type` other than `'PLAIN'`,
 * as this function does not support any schema operations and won't check for such conflicts.
 *
 * @param token Any token. If it does not include an `indent` value, the value will be stringified as if it were an implicit key.
 * @param value The string representation of the value, which will have its content properly indented.
 * @param context.afterKey In most cases, values after a key should have an additional level of indentation.
 * @param context.implicitKey Being within an implicit key may affect the resolved type of the token's value.
 * @param context.inFlow Being within a flow collection may affect the resolved type of the token's value.
 * @param context.type The preferred type of the scalar token. If undefined, the previous type of the `token` will be used, defaulting to `'PLAIN'`.
 */
function setScalarValue(token, value, context = {}) {
    let { afterKey = false, implicitKey = false, inFlow = false, type } = context;
    let indent = 'indent' in token ? token.indent : null;
    if (afterKey && typeof indent === 'number')
        indent += 2;
    if (!type)
        switch (token.type) {
            case 'single-quoted-scalar':
                type = 'QUOTE_SINGLE';
                break;
            case 'double-quoted-scalar':
                type = 'QUOTE_DOUBLE';
                break;
            case 'block-scalar': {
                const header = token.props[0];
                if (header.type !== 'block-scalar-header')
                    throw new Error('Invalid block scalar header');
                type = header.source[0] === '>' ? 'BLOCK_FOLDED' : 'BLOCK_LITERAL';
                break;
            }
            default:
                type = 'PLAIN';
        }
    const source = stringifyString.stringifyString({ type, value }, {
        implicitKey: implicitKey || indent === null,
        indent: indent !== null && indent > 0 ? ' '.repeat(indent) : '',
        inFlow,
        options: { blockQuote: true, lineWidth: -1 }
    });
    switch (source[0]) {
        case '|':
        case '>':
            setBlockScalarValue(token, source);
            break;
        case '"':
            setFlowScalarValue(token, source, 'double-quoted-scalar');
            break;
        case "'":
            setFlowScalarValue(token, source, 'single-quoted-scalar');
            break;
        default:
            setFlowScalarValue(token, source, 'scalar');
    }
}
function setBlockScalarValue(token, source) {
    const he = source.indexOf('\n');
    const head = source.substring(0, he);
    const body = source.substring(he + 1) + '\n';
    if (token.type === 'block-scalar') {
        const header = token.props[0];
        if (header.type !== 'block-scalar-header')
            throw new Error('Invalid block scalar header');
        header.source = head;
        token.source = body;
    }
    else {
        const { offset } = token;
        const indent = 'indent' in token ? token.indent : -1;
        const props = [
            { type: 'block-scalar-header', offset, indent, source: head }
        ];
        if (!addEndtoBlockProps(props, 'end' in token ? token.end : undefined))
            props.push({ type: 'newline', offset: -1, indent, source: '\n' });
        for (const key of Object.keys(token))
            if (key !== 'type' && key !== 'offset')
                delete token[key];
        Object.assign(token, { type: 'block-scalar', indent, props, source: body });
    }
}
/** @returns `true` if last token is a newline */
function addEndtoBlockProps(props, end) {
    if (end)
        for (const st of end)
            switch (st.type) {
                case 'space':
                case 'comment':
                    props.push(st);
                    break;
                case 'newline':
                    props.push(st);
                    return true;
            }
    return false;
}
function setFlowScalarValue(token, source, type) {
    switch (token.type) {
        case 'scalar':
        case 'double-quoted-scalar':
        case 'single-quoted-scalar':
            token.type = type;
            token.source = source;
            break;
        case 'block-scalar': {
            const end = token.props.slice(1);
            let oa = source.length;
            if (token.props[0].type === 'block-scalar-header')
                oa -= token.props[0].source.length;
            for (const tok of end)
                tok.offset += oa;
            delete token.props;
            Object.assign(token, { type, source, end });
            break;
        }
        case 'block-map':
        case 'block-seq': {
            const offset = token.offset + source.length;
            const nl = { type: 'newline', offset, indent: token.indent, source: '\n' };
            delete token.items;
            Object.assign(token, { type, source, end: [nl] });
            break;
        }
        default: {
            const indent = 'indent' in token ? token.indent : -1;
            const end = 'end' in token && Array.isArray(token.end)
                ? token.end.filter(st => st.type === 'space' ||
                    st.type === 'comment' ||
                    st.type === 'newline')
                : [];
            for (const key of Object.keys(token))
                if (key !== 'type' && key !== 'offset')
                    delete token[key];
            Object.assign(token, { type, indent, source, end });
        }
    }
}

exports.createScalarToken = createScalarToken;
exports.resolveAsScalar = resolveAsScalar;
exports.setScalarValue = setScalarValue;


/***/ }),

/***/ 1733:
/***/ ((__unused_webpack_module, exports) => {



/**
 * Stringify a CST document, token, or collection item
 *
 * Fair warning: This applies no validation whatsoever, and
 * simply concatenates the sources in their logical order.
 */
const stringify = (cst) => 'type' in cst ? stringifyToken(cst) : stringifyItem(cst);
function stringifyToken(token) {
    switch (token.type) {
        case 'block-scalar': {
            let res = '';
            for (const tok of token.props)
                res += stringifyToken(tok);
            return res + token.source;
        }
        case 'block-map':
        case 'block-seq': {
            let res = '';
            for (const item of token.items)
                res += stringifyItem(item);
            return res;
        }
        case 'flow-collection': {
            let res = token.start.source;
            for (const item of token.items)
                res += stringifyItem(item);
            for (const st of token.end)
                res += st.source;
            return res;
        }
        case 'document': {
            let res = stringifyItem(token);
            if (token.end)
                for (const st of token.end)
                    res += st.source;
            return res;
        }
        default: {
            let res = token.source;
            if ('end' in token && token.end)
                for (const st of token.end)
                    res += st.source;
            return res;
        }
    }
}
function stringifyItem({ start, key, sep, value }) {
    let res = '';
    for (const st of start)
        res += st.source;
    if (key)
        res += stringifyToken(key);
    if (sep)
        for (const st of sep)
            res += st.source;
    if (value)
        res += stringifyToken(value);
    return res;
}

exports.stringify = stringify;


/***/ }),

/***/ 7715:
/***/ ((__unused_webpack_module, exports) => {



const BREAK = Symbol('break visit');
const SKIP = Symbol('skip children');
const REMOVE = Symbol('remove item');
/**
 * Apply a visitor to a CST document or item.
 *
 * Walks through the tree (depth-first) starting from the root, calling a
 * `visitor` function with two arguments when entering each item:
 *   - `item`: The current item, which included the following members:
 *     - `start: SourceToken[]` – Source tokens before the key or value,
 *       possibly including its anchor or tag.
 *     - `key?: Token | null` – Set for pair values. May then be `null`, if
 *       the key before the `:` separator is empty.
 *     - `sep?: SourceToken[]` – Source tokens between the key and the value,
 *       which should include the `:` map value indicator if `value` is set.
 *     - `value?: Token` – The value of a sequence item, or of a map pair.
 *   - `path`: The steps from the root to the current node, as an array of
 *     `['key' | 'value', number]` tuples.
 *
 * The return value of the visitor may be used to control the traversal:
 *   - `undefined` (default): Do nothing and continue
 *   - `visit.SKIP`: Do not visit the children of this token, continue with
 *      next sibling
 *   - `visit.BREAK`: Terminate traversal completely
 *   - `visit.REMOVE`: Remove the current item, then continue with the next one
 *   - `number`: Set the index of the next step. This is useful especially if
 *     the index of the current token has changed.
 *   - `function`: Define the next visitor for this item. After the original
 *     visitor is called on item entry, next visitors are called after handling
 *     a non-empty `key` and when exiting the item.
 */
function visit(cst, visitor) {
    if ('type' in cst && cst.type === 'document')
        cst = { start: cst.start, value: cst.value };
    _visit(Object.freeze([]), cst, visitor);
}
// Without the `as symbol` casts, TS declares these in the `visit`
// namespace using `var`, but then complains about that because
// `unique symbol` must be `const`.
/** Terminate visit traversal completely */
visit.BREAK = BREAK;
/** Do not visit the children of the current item */
visit.SKIP = SKIP;
/** Remove the current item */
visit.REMOVE = REMOVE;
/** Find the item at `path` from `cst` as the root */
visit.itemAtPath = (cst, path) => {
    let item = cst;
    for (const [field, index] of path) {
        const tok = item?.[field];
        if (tok && 'items' in tok) {
            item = tok.items[index];
        }
        else
            return undefined;
    }
    return item;
};
/**
 * Get the immediate parent collection of the item at `path` from `cst` as the root.
 *
 * Throws an error if the collection is not found, which should never happen if the item itself exists.
 */
visit.parentCollection = (cst, path) => {
    const parent = visit.itemAtPath(cst, path.slice(0, -1));
    const field = path[path.length - 1][0];
    const coll = parent?.[field];
    if (coll && 'items' in coll)
        return coll;
    throw new Error('Parent collection not found');
};
function _visit(path, item, visitor) {
    let ctrl = visitor(item, path);
    if (typeof ctrl === 'symbol')
        return ctrl;
    for (const field of ['key', 'value']) {
        const token = item[field];
        if (token && 'items' in token) {
            for (let i = 0; i < token.items.length; ++i) {
                const ci = _visit(Object.freeze(path.concat([[field, i]])), token.items[i], visitor);
                if (typeof ci === 'number')
                    i = ci - 1;
                else if (ci === BREAK)
                    return BREAK;
                else if (ci === REMOVE) {
                    token.items.splice(i, 1);
                    i -= 1;
                }
            }
            if (typeof ctrl === 'function' && field === 'key')
                ctrl = ctrl(item, path);
        }
    }
    return typeof ctrl === 'function' ? ctrl(item, path) : ctrl;
}

exports.visit = visit;


/***/ }),

/***/ 3461:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var cstScalar = __nccwpck_require__(110);
var cstStringify = __nccwpck_require__(1733);
var cstVisit = __nccwpck_require__(7715);

/** The byte order mark */
const BOM = '\u{FEFF}';
/** Start of doc-mode */
const DOCUMENT = '\x02'; // C0: Start of Text
/** Unexpected end of flow-mode */
const FLOW_END = '\x18'; // C0: Cancel
/** Next token is a scalar value */
const SCALAR = '\x1f'; // C0: Unit Separator
/** @returns `true` if `token` is a flow or block collection */
const isCollection = (token) => !!token && 'items' in token;
/** @returns `true` if `token` is a flow or block scalar; not an alias */
const isScalar = (token) => !!token &&
    (token.type === 'scalar' ||
        token.type === 'single-quoted-scalar' ||
        token.type === 'double-quoted-scalar' ||
        token.type === 'block-scalar');
/* istanbul ignore next */
/** Get a printable representation of a lexer token */
function prettyToken(token) {
    switch (token) {
        case BOM:
            return '<BOM>';
        case DOCUMENT:
            return '<DOC>';
        case FLOW_END:
            return '<FLOW_END>';
        case SCALAR:
            return '<SCALAR>';
        default:
            return JSON.stringify(token);
    }
}
/** Identify the type of a lexer token. May return `null` for unknown tokens. */
function tokenType(source) {
    switch (source) {
        case BOM:
            return 'byte-order-mark';
        case DOCUMENT:
            return 'doc-mode';
        case FLOW_END:
            return 'flow-error-end';
        case SCALAR:
            return 'scalar';
        case '---':
            return 'doc-start';
        case '...':
            return 'doc-end';
        case '':
        case '\n':
        case '\r\n':
            return 'newline';
        case '-':
            return 'seq-item-ind';
        case '?':
            return 'explicit-key-ind';
        case ':':
            return 'map-value-ind';
        case '{':
            return 'flow-map-start';
        case '}':
            return 'flow-map-end';
        case '[':
            return 'flow-seq-start';
        case ']':
            return 'flow-seq-end';
        case ',':
            return 'comma';
    }
    switch (source[0]) {
        case ' ':
        case '\t':
            return 'space';
        case '#':
            return 'comment';
        case '%':
            return 'directive-line';
        case '*':
            return 'alias';
        case '&':
            return 'anchor';
        case '!':
            return 'tag';
        case "'":
            return 'single-quoted-scalar';
        case '"':
            return 'double-quoted-scalar';
        case '|':
        case '>':
            return 'block-scalar-header';
    }
    return null;
}

exports.createScalarToken = cstScalar.createScalarToken;
exports.resolveAsScalar = cstScalar.resolveAsScalar;
exports.setScalarValue = cstScalar.setScalarValue;
exports.stringify = cstStringify.stringify;
exports.visit = cstVisit.visit;
exports.BOM = BOM;
exports.DOCUMENT = DOCUMENT;
exports.FLOW_END = FLOW_END;
exports.SCALAR = SCALAR;
exports.isCollection = isCollection;
exports.isScalar = isScalar;
exports.prettyToken = prettyToken;
exports.tokenType = tokenType;


/***/ }),

/***/ 361:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var cst = __nccwpck_require__(3461);

/*
START -> stream

stream
  directive -> line-end -> stream
  indent + line-end -> stream
  [else] -> line-start

line-end
  comment -> line-end
  newline -> .
  input-end -> END

line-start
  doc-start -> doc
  doc-end -> stream
  [else] -> indent -> block-start

block-start
  seq-item-start -> block-start
  explicit-key-start -> block-start
  map-value-start -> block-start
  [else] -> doc

doc
  line-end -> line-start
  spaces -> doc
  anchor -> doc
  tag -> doc
  flow-start -> flow -> doc
  flow-end -> error -> doc
  seq-item-start -> error -> doc
  explicit-key-start -> error -> doc
  map-value-start -> doc
  alias -> doc
  quote-start -> quoted-scalar -> doc
  block-scalar-header -> line-end -> block-scalar(min) -> line-start
  [else] -> plain-scalar(false, min) -> doc

flow
  line-end -> flow
  spaces -> flow
  anchor -> flow
  tag -> flow
  flow-start -> flow -> flow
  flow-end -> .
  seq-item-start -> error -> flow
  explicit-key-start -> flow
  map-value-start -> flow
  alias -> flow
  quote-start -> quoted-scalar -> flow
  comma -> flow
  [else] -> plain-scalar(true, 0) -> flow

quoted-scalar
  quote-end -> .
  [else] -> quoted-scalar

block-scalar(min)
  newline + peek(indent < min) -> .
  [else] -> block-scalar(min)

plain-scalar(is-flow, min)
  scalar-end(is-flow) -> .
  peek(newline + (indent < min)) -> .
  [else] -> plain-scalar(min)
*/
function isEmpty(ch) {
    switch (ch) {
        case undefined:
        case ' ':
        case '\n':
        case '\r':
        case '\t':
            return true;
        default:
            return false;
    }
}
const hexDigits = new Set('0123456789ABCDEFabcdef');
const tagChars = new Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-#;/?:@&=+$_.!~*'()");
const flowIndicatorChars = new Set(',[]{}');
const invalidAnchorChars = new Set(' ,[]{}\n\r\t');
const isNotAnchorChar = (ch) => !ch || invalidAnchorChars.has(ch);
/**
 * Splits an input string into lexical tokens, i.e. smaller strings that are
 * easily identifiable by `tokens.tokenType()`.
 *
 * Lexing starts always in a "stream" context. Incomplete input may be buffered
 * until a complete token can be emitted.
 *
 * In addition to slices of the original input, the following control characters
 * may also be emitted:
 *
 * - `\x02` (Start of Text): A document starts with the next token
 * - `\x18` (Cancel): Unexpected end of flow-mode (indicates an error)
 * - `\x1f` (Unit Separator): Next token is a scalar value
 * - `\u{FEFF}` (Byte order mark): Emitted separately outside documents
 */
class Lexer {
    constructor() {
        /**
         * Flag indicating whether the end of the current buffer marks the end of
         * all input
         */
        this.atEnd = false;
        /**
         * Explicit indent set in block scalar header, as an offset from the current
         * minimum indent, so e.g. set to 1 from a header `|2+`. Set to -1 if not
         * explicitly set.
         */
        this.blockScalarIndent = -1;
        /**
         * Block scalars that include a + (keep) chomping indicator in their header
         * include trailing empty lines, which are otherwise excluded from the
         * scalar's contents.
         */
        this.blockScalarKeep = false;
        /** Current input */
        this.buffer = '';
        /**
         * Flag noting whether the map value indicator : can immediately follow this
         * node within a flow context.
         */
        this.flowKey = false;
        /** Count of surrounding flow collection levels. */
        this.flowLevel = 0;
        /**
         * Minimum level of indentation required for next lines to be parsed as a
         * part of the current scalar value.
         */
        this.indentNext = 0;
        /** Indentation level of the current line. */
        this.indentValue = 0;
        /** Position of the next \n character. */
        this.lineEndPos = null;
        /** Stores the state of the lexer if reaching the end of incpomplete input */
        this.next = null;
        /** A pointer to `buffer`; the current position of the lexer. */
        this.pos = 0;
    }
    /**
     * Generate YAML tokens from the `source` string. If `incomplete`,
     * a part of the last line may be left as a buffer for the next call.
     *
     * @returns A generator of lexical tokens
     */
    *lex(source, incomplete = false) {
        if (source) {
            if (typeof source !== 'string')
                throw TypeError('source is not a string');
            this.buffer = this.buffer ? this.buffer + source : source;
            this.lineEndPos = null;
        }
        this.atEnd = !incomplete;
        let next = this.next ?? 'stream';
        while (next && (incomplete || this.hasChars(1)))
            next = yield* this.parseNext(next);
    }
    atLineEnd() {
        let i = this.pos;
        let ch = this.buffer[i];
        while (ch === ' ' || ch === '\t')
            ch = this.buffer[++i];
        if (!ch || ch === '#' || ch === '\n')
            return true;
        if (ch === '\r')
            return this.buffer[i + 1] === '\n';
        return false;
    }
    charAt(n) {
        return this.buffer[this.pos + n];
    }
    continueScalar(offset) {
        let ch = this.buffer[offset];
        if (this.indentNext > 0) {
            let indent = 0;
            while (ch === ' ')
                ch = this.buffer[++indent + offset];
            if (ch === '\r') {
                const next = this.buffer[indent + offset + 1];
                if (next === '\n' || (!next && !this.atEnd))
                    return offset + indent + 1;
            }
            return ch === '\n' || indent >= this.indentNext || (!ch && !this.atEnd)
                ? offset + indent
                : -1;
        }
        if (ch === '-' || ch === '.') {
            const dt = this.buffer.substr(offset, 3);
            if ((dt === '---' || dt === '...') && isEmpty(this.buffer[offset + 3]))
                return -1;
        }
        return offset;
    }
    getLine() {
        let end = this.lineEndPos;
        if (typeof end !== 'number' || (end !== -1 && end < this.pos)) {
            end = this.buffer.indexOf('\n', this.pos);
            this.lineEndPos = end;
        }
        if (end === -1)
            return this.atEnd ? this.buffer.substring(this.pos) : null;
        if (this.buffer[end - 1] === '\r')
            end -= 1;
        return this.buffer.substring(this.pos, end);
    }
    hasChars(n) {
        return this.pos + n <= this.buffer.length;
    }
    setNext(state) {
        this.buffer = this.buffer.substring(this.pos);
        this.pos = 0;
        this.lineEndPos = null;
        this.next = state;
        return null;
    }
    peek(n) {
        return this.buffer.substr(this.pos, n);
    }
    *parseNext(next) {
        switch (next) {
            case 'stream':
                return yield* this.parseStream();
            case 'line-start':
                return yield* this.parseLineStart();
            case 'block-start':
                return yield* this.parseBlockStart();
            case 'doc':
                return yield* this.parseDocument();
            case 'flow':
                return yield* this.parseFlowCollection();
            case 'quoted-scalar':
                return yield* this.parseQuotedScalar();
            case 'block-scalar':
                return yield* this.parseBlockScalar();
            case 'plain-scalar':
                return yield* this.parsePlainScalar();
        }
    }
    *parseStream() {
        let line = this.getLine();
        if (line === null)
            return this.setNext('stream');
        if (line[0] === cst.BOM) {
            yield* this.pushCount(1);
            line = line.substring(1);
        }
        if (line[0] === '%') {
            let dirEnd = line.length;
            let cs = line.indexOf('#');
            while (cs !== -1) {
                const ch = line[cs - 1];
                if (ch === ' ' || ch === '\t') {
                    dirEnd = cs - 1;
                    break;
                }
                else {
                    cs = line.indexOf('#', cs + 1);
                }
            }
            while (true) {
                const ch = line[dirEnd - 1];
                if (ch === ' ' || ch === '\t')
                    dirEnd -= 1;
                else
                    break;
            }
            const n = (yield* this.pushCount(dirEnd)) + (yield* this.pushSpaces(true));
            yield* this.pushCount(line.length - n); // possible comment
            this.pushNewline();
            return 'stream';
        }
        if (this.atLineEnd()) {
            const sp = yield* this.pushSpaces(true);
            yield* this.pushCount(line.length - sp);
            yield* this.pushNewline();
            return 'stream';
        }
        yield cst.DOCUMENT;
        return yield* this.parseLineStart();
    }
    *parseLineStart() {
        const ch = this.charAt(0);
        if (!ch && !this.atEnd)
            return this.setNext('line-start');
        if (ch === '-' || ch === '.') {
            if (!this.atEnd && !this.hasChars(4))
                return this.setNext('line-start');
            const s = this.peek(3);
            if ((s === '---' || s === '...') && isEmpty(this.charAt(3))) {
                yield* this.pushCount(3);
                this.indentValue = 0;
                this.indentNext = 0;
                return s === '---' ? 'doc' : 'stream';
            }
        }
        this.indentValue = yield* this.pushSpaces(false);
        if (this.indentNext > this.indentValue && !isEmpty(this.charAt(1)))
            this.indentNext = this.indentValue;
        return yield* this.parseBlockStart();
    }
    *parseBlockStart() {
        const [ch0, ch1] = this.peek(2);
        if (!ch1 && !this.atEnd)
            return this.setNext('block-start');
        if ((ch0 === '-' || ch0 === '?' || ch0 === ':') && isEmpty(ch1)) {
            const n = (yield* this.pushCount(1)) + (yield* this.pushSpaces(true));
            this.indentNext = this.indentValue + 1;
            this.indentValue += n;
            return 'block-start';
        }
        return 'doc';
    }
    *parseDocument() {
        yield* this.pushSpaces(true);
        const line = this.getLine();
        if (line === null)
            return this.setNext('doc');
        let n = yield* this.pushIndicators();
        switch (line[n]) {
            case '#':
                yield* this.pushCount(line.length - n);
            // fallthrough
            case undefined:
                yield* this.pushNewline();
                return yield* this.parseLineStart();
            case '{':
            case '[':
                yield* this.pushCount(1);
                this.flowKey = false;
                this.flowLevel = 1;
                return 'flow';
            case '}':
            case ']':
                // this is an error
                yield* this.pushCount(1);
                return 'doc';
            case '*':
                yield* this.pushUntil(isNotAnchorChar);
                return 'doc';
            case '"':
            case "'":
                return yield* this.parseQuotedScalar();
            case '|':
            case '>':
                n += yield* this.parseBlockScalarHeader();
                n += yield* this.pushSpaces(true);
                yield* this.pushCount(line.length - n);
                yield* this.pushNewline();
                return yield* this.parseBlockScalar();
            default:
                return yield* this.parsePlainScalar();
        }
    }
    *parseFlowCollection() {
        let nl, sp;
        let indent = -1;
        do {
            nl = yield* this.pushNewline();
            if (nl > 0) {
                sp = yield* this.pushSpaces(false);
                this.indentValue = indent = sp;
            }
            else {
                sp = 0;
            }
            sp += yield* this.pushSpaces(true);
        } while (nl + sp > 0);
        const line = this.getLine();
        if (line === null)
            return this.setNext('flow');
        if ((indent !== -1 && indent < this.indentNext && line[0] !== '#') ||
            (indent === 0 &&
                (line.startsWith('---') || line.startsWith('...')) &&
                isEmpty(line[3]))) {
            // Allowing for the terminal ] or } at the same (rather than greater)
            // indent level as the initial [ or { is technically invalid, but
            // failing here would be surprising to users.
            const atFlowEndMarker = indent === this.indentNext - 1 &&
                this.flowLevel === 1 &&
                (line[0] === ']' || line[0] === '}');
            if (!atFlowEndMarker) {
                // this is an error
                this.flowLevel = 0;
                yield cst.FLOW_END;
                return yield* this.parseLineStart();
            }
        }
        let n = 0;
        while (line[n] === ',') {
            n += yield* this.pushCount(1);
            n += yield* this.pushSpaces(true);
            this.flowKey = false;
        }
        n += yield* this.pushIndicators();
        switch (line[n]) {
            case undefined:
                return 'flow';
            case '#':
                yield* this.pushCount(line.length - n);
                return 'flow';
            case '{':
            case '[':
                yield* this.pushCount(1);
                this.flowKey = false;
                this.flowLevel += 1;
                return 'flow';
            case '}':
            case ']':
                yield* this.pushCount(1);
                this.flowKey = true;
                this.flowLevel -= 1;
                return this.flowLevel ? 'flow' : 'doc';
            case '*':
                yield* this.pushUntil(isNotAnchorChar);
                return 'flow';
            case '"':
            case "'":
                this.flowKey = true;
                return yield* this.parseQuotedScalar();
            case ':': {
                const next = this.charAt(1);
                if (this.flowKey || isEmpty(next) || next === ',') {
                    this.flowKey = false;
                    yield* this.pushCount(1);
                    yield* this.pushSpaces(true);
                    return 'flow';
                }
            }
            // fallthrough
            default:
                this.flowKey = false;
                return yield* this.parsePlainScalar();
        }
    }
    *parseQuotedScalar() {
        const quote = this.charAt(0);
        let end = this.buffer.indexOf(quote, this.pos + 1);
        if (quote === "'") {
            while (end !== -1 && this.buffer[end + 1] === "'")
                end = this.buffer.indexOf("'", end + 2);
        }
        else {
            // double-quote
            while (end !== -1) {
                let n = 0;
                while (this.buffer[end - 1 - n] === '\\')
                    n += 1;
                if (n % 2 === 0)
                    break;
                end = this.buffer.indexOf('"', end + 1);
            }
        }
        // Only looking for newlines within the quotes
        const qb = this.buffer.substring(0, end);
        let nl = qb.indexOf('\n', this.pos);
        if (nl !== -1) {
            while (nl !== -1) {
                const cs = this.continueScalar(nl + 1);
                if (cs === -1)
                    break;
                nl = qb.indexOf('\n', cs);
            }
            if (nl !== -1) {
                // this is an error caused by an unexpected unindent
                end = nl - (qb[nl - 1] === '\r' ? 2 : 1);
            }
        }
        if (end === -1) {
            if (!this.atEnd)
                return this.setNext('quoted-scalar');
            end = this.buffer.length;
        }
        yield* this.pushToIndex(end + 1, false);
        return this.flowLevel ? 'flow' : 'doc';
    }
    *parseBlockScalarHeader() {
        this.blockScalarIndent = -1;
        this.blockScalarKeep = false;
        let i = this.pos;
        while (true) {
            const ch = this.buffer[++i];
            if (ch === '+')
                this.blockScalarKeep = true;
            else if (ch > '0' && ch <= '9')
                this.blockScalarIndent = Number(ch) - 1;
            else if (ch !== '-')
                break;
        }
        return yield* this.pushUntil(ch => isEmpty(ch) || ch === '#');
    }
    *parseBlockScalar() {
        let nl = this.pos - 1; // may be -1 if this.pos === 0
        let indent = 0;
        let ch;
        loop: for (let i = this.pos; (ch = this.buffer[i]); ++i) {
            switch (ch) {
                case ' ':
                    indent += 1;
                    break;
                case '\n':
                    nl = i;
                    indent = 0;
                    break;
                case '\r': {
                    const next = this.buffer[i + 1];
                    if (!next && !this.atEnd)
                        return this.setNext('block-scalar');
                    if (next === '\n')
                        break;
                } // fallthrough
                default:
                    break loop;
            }
        }
        if (!ch && !this.atEnd)
            return this.setNext('block-scalar');
        if (indent >= this.indentNext) {
            if (this.blockScalarIndent === -1)
                this.indentNext = indent;
            else {
                this.indentNext =
                    this.blockScalarIndent + (this.indentNext === 0 ? 1 : this.indentNext);
            }
            do {
                const cs = this.continueScalar(nl + 1);
                if (cs === -1)
                    break;
                nl = this.buffer.indexOf('\n', cs);
            } while (nl !== -1);
            if (nl === -1) {
                if (!this.atEnd)
                    return this.setNext('block-scalar');
                nl = this.buffer.length;
            }
        }
        // Trailing insufficiently indented tabs are invalid.
        // To catch that during parsing, we include them in the block scalar value.
        let i = nl + 1;
        ch = this.buffer[i];
        while (ch === ' ')
            ch = this.buffer[++i];
        if (ch === '\t') {
            while (ch === '\t' || ch === ' ' || ch === '\r' || ch === '\n')
                ch = this.buffer[++i];
            nl = i - 1;
        }
        else if (!this.blockScalarKeep) {
            do {
                let i = nl - 1;
                let ch = this.buffer[i];
                if (ch === '\r')
                    ch = this.buffer[--i];
                const lastChar = i; // Drop the line if last char not more indented
                while (ch === ' ')
                    ch = this.buffer[--i];
                if (ch === '\n' && i >= this.pos && i + 1 + indent > lastChar)
                    nl = i;
                else
                    break;
            } while (true);
        }
        yield cst.SCALAR;
        yield* this.pushToIndex(nl + 1, true);
        return yield* this.parseLineStart();
    }
    *parsePlainScalar() {
        const inFlow = this.flowLevel > 0;
        let end = this.pos - 1;
        let i = this.pos - 1;
        let ch;
        while ((ch = this.buffer[++i])) {
            if (ch === ':') {
                const next = this.buffer[i + 1];
                if (isEmpty(next) || (inFlow && flowIndicatorChars.has(next)))
                    break;
                end = i;
            }
            else if (isEmpty(ch)) {
                let next = this.buffer[i + 1];
                if (ch === '\r') {
                    if (next === '\n') {
                        i += 1;
                        ch = '\n';
                        next = this.buffer[i + 1];
                    }
                    else
                        end = i;
                }
                if (next === '#' || (inFlow && flowIndicatorChars.has(next)))
                    break;
                if (ch === '\n') {
                    const cs = this.continueScalar(i + 1);
                    if (cs === -1)
                        break;
                    i = Math.max(i, cs - 2); // to advance, but still account for ' #'
                }
            }
            else {
                if (inFlow && flowIndicatorChars.has(ch))
                    break;
                end = i;
            }
        }
        if (!ch && !this.atEnd)
            return this.setNext('plain-scalar');
        yield cst.SCALAR;
        yield* this.pushToIndex(end + 1, true);
        return inFlow ? 'flow' : 'doc';
    }
    *pushCount(n) {
        if (n > 0) {
            yield this.buffer.substr(this.pos, n);
            this.pos += n;
            return n;
        }
        return 0;
    }
    *pushToIndex(i, allowEmpty) {
        const s = this.buffer.slice(this.pos, i);
        if (s) {
            yield s;
            this.pos += s.length;
            return s.length;
        }
        else if (allowEmpty)
            yield '';
        return 0;
    }
    *pushIndicators() {
        let n = 0;
        loop: while (true) {
            switch (this.charAt(0)) {
                case '!':
                    n += yield* this.pushTag();
                    n += yield* this.pushSpaces(true);
                    continue loop;
                case '&':
                    n += yield* this.pushUntil(isNotAnchorChar);
                    n += yield* this.pushSpaces(true);
                    continue loop;
                case '-': // this is an error
                case '?': // this is an error outside flow collections
                case ':': {
                    const inFlow = this.flowLevel > 0;
                    const ch1 = this.charAt(1);
                    if (isEmpty(ch1) || (inFlow && flowIndicatorChars.has(ch1))) {
                        if (!inFlow)
                            this.indentNext = this.indentValue + 1;
                        else if (this.flowKey)
                            this.flowKey = false;
                        n += yield* this.pushCount(1);
                        n += yield* this.pushSpaces(true);
                        continue loop;
                    }
                }
            }
            break loop;
        }
        return n;
    }
    *pushTag() {
        if (this.charAt(1) === '<') {
            let i = this.pos + 2;
            let ch = this.buffer[i];
            while (!isEmpty(ch) && ch !== '>')
                ch = this.buffer[++i];
            return yield* this.pushToIndex(ch === '>' ? i + 1 : i, false);
        }
        else {
            let i = this.pos + 1;
            let ch = this.buffer[i];
            while (ch) {
                if (tagChars.has(ch))
                    ch = this.buffer[++i];
                else if (ch === '%' &&
                    hexDigits.has(this.buffer[i + 1]) &&
                    hexDigits.has(this.buffer[i + 2])) {
                    ch = this.buffer[(i += 3)];
                }
                else
                    break;
            }
            return yield* this.pushToIndex(i, false);
        }
    }
    *pushNewline() {
        const ch = this.buffer[this.pos];
        if (ch === '\n')
            return yield* this.pushCount(1);
        else if (ch === '\r' && this.charAt(1) === '\n')
            return yield* this.pushCount(2);
        else
            return 0;
    }
    *pushSpaces(allowTabs) {
        let i = this.pos - 1;
        let ch;
        do {
            ch = this.buffer[++i];
        } while (ch === ' ' || (allowTabs && ch === '\t'));
        const n = i - this.pos;
        if (n > 0) {
            yield this.buffer.substr(this.pos, n);
            this.pos = i;
        }
        return n;
    }
    *pushUntil(test) {
        let i = this.pos;
        let ch = this.buffer[i];
        while (!test(ch))
            ch = this.buffer[++i];
        return yield* this.pushToIndex(i, false);
    }
}

exports.Lexer = Lexer;


/***/ }),

/***/ 6628:
/***/ ((__unused_webpack_module, exports) => {



/**
 * Tracks newlines during parsing in order to provide an efficient API for
 * determining the one-indexed `{ line, col }` position for any offset
 * within the input.
 */
class LineCounter {
    constructor() {
        this.lineStarts = [];
        /**
         * Should be called in ascending order. Otherwise, call
         * `lineCounter.lineStarts.sort()` before calling `linePos()`.
         */
        this.addNewLine = (offset) => this.lineStarts.push(offset);
        /**
         * Performs a binary search and returns the 1-indexed { line, col }
         * position of `offset`. If `line === 0`, `addNewLine` has never been
         * called or `offset` is before the first known newline.
         */
        this.linePos = (offset) => {
            let low = 0;
            let high = this.lineStarts.length;
            while (low < high) {
                const mid = (low + high) >> 1; // Math.floor((low + high) / 2)
                if (this.lineStarts[mid] < offset)
                    low = mid + 1;
                else
                    high = mid;
            }
            if (this.lineStarts[low] === offset)
                return { line: low + 1, col: 1 };
            if (low === 0)
                return { line: 0, col: offset };
            const start = this.lineStarts[low - 1];
            return { line: low, col: offset - start + 1 };
        };
    }
}

exports.LineCounter = LineCounter;


/***/ }),

/***/ 3456:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var node_process = __nccwpck_require__(932);
var cst = __nccwpck_require__(3461);
var lexer = __nccwpck_require__(361);

function includesToken(list, type) {
    for (let i = 0; i < list.length; ++i)
        if (list[i].type === type)
            return true;
    return false;
}
function findNonEmptyIndex(list) {
    for (let i = 0; i < list.length; ++i) {
        switch (list[i].type) {
            case 'space':
            case 'comment':
            case 'newline':
                break;
            default:
                return i;
        }
    }
    return -1;
}
function isFlowToken(token) {
    switch (token?.type) {
        case 'alias':
        case 'scalar':
        case 'single-quoted-scalar':
        case 'double-quoted-scalar':
        case 'flow-collection':
            return true;
        default:
            return false;
    }
}
function getPrevProps(parent) {
    switch (parent.type) {
        case 'document':
            return parent.start;
        case 'block-map': {
            const it = parent.items[parent.items.length - 1];
            return it.sep ?? it.start;
        }
        case 'block-seq':
            return parent.items[parent.items.length - 1].start;
        /* istanbul ignore next should not happen */
        default:
            return [];
    }
}
/** Note: May modify input array */
function getFirstKeyStartProps(prev) {
    if (prev.length === 0)
        return [];
    let i = prev.length;
    loop: while (--i >= 0) {
        switch (prev[i].type) {
            case 'doc-start':
            case 'explicit-key-ind':
            case 'map-value-ind':
            case 'seq-item-ind':
            case 'newline':
                break loop;
        }
    }
    while (prev[++i]?.type === 'space') {
        /* loop */
    }
    return prev.splice(i, prev.length);
}
function arrayPushArray(target, source) {
    // May exhaust call stack with large `source` array
    if (source.length < 1e5)
        Array.prototype.push.apply(target, source);
    else
        for (let i = 0; i < source.length; ++i)
            target.push(source[i]);
}
function fixFlowSeqItems(fc) {
    if (fc.start.type === 'flow-seq-start') {
        for (const it of fc.items) {
            if (it.sep &&
                !it.value &&
                !includesToken(it.start, 'explicit-key-ind') &&
                !includesToken(it.sep, 'map-value-ind')) {
                if (it.key)
                    it.value = it.key;
                delete it.key;
                if (isFlowToken(it.value)) {
                    if (it.value.end)
                        arrayPushArray(it.value.end, it.sep);
                    else
                        it.value.end = it.sep;
                }
                else
                    arrayPushArray(it.start, it.sep);
                delete it.sep;
            }
        }
    }
}
/**
 * A YAML concrete syntax tree (CST) parser
 *
 * ```ts
 * const src: string = ...
 * for (const token of new Parser().parse(src)) {
 *   // token: Token
 * }
 * ```
 *
 * To use the parser with a user-provided lexer:
 *
 * ```ts
 * function* parse(source: string, lexer: Lexer) {
 *   const parser = new Parser()
 *   for (const lexeme of lexer.lex(source))
 *     yield* parser.next(lexeme)
 *   yield* parser.end()
 * }
 *
 * const src: string = ...
 * const lexer = new Lexer()
 * for (const token of parse(src, lexer)) {
 *   // token: Token
 * }
 * ```
 */
class Parser {
    /**
     * @param onNewLine - If defined, called separately with the start position of
     *   each new line (in `parse()`, including the start of input).
     */
    constructor(onNewLine) {
        /** If true, space and sequence indicators count as indentation */
        this.atNewLine = true;
        /** If true, next token is a scalar value */
        this.atScalar = false;
        /** Current indentation level */
        this.indent = 0;
        /** Current offset since the start of parsing */
        this.offset = 0;
        /** On the same line with a block map key */
        this.onKeyLine = false;
        /** Top indicates the node that's currently being built */
        this.stack = [];
        /** The source of the current token, set in parse() */
        this.source = '';
        /** The type of the current token, set in parse() */
        this.type = '';
        // Must be defined after `next()`
        this.lexer = new lexer.Lexer();
        this.onNewLine = onNewLine;
    }
    /**
     * Parse `source` as a YAML stream.
     * If `incomplete`, a part of the last line may be left as a buffer for the next call.
     *
     * Errors are not thrown, but yielded as `{ type: 'error', message }` tokens.
     *
     * @returns A generator of tokens representing each directive, document, and other structure.
     */
    *parse(source, incomplete = false) {
        if (this.onNewLine && this.offset === 0)
            this.onNewLine(0);
        for (const lexeme of this.lexer.lex(source, incomplete))
            yield* this.next(lexeme);
        if (!incomplete)
            yield* this.end();
    }
    /**
     * Advance the parser by the `source` of one lexical token.
     */
    *next(source) {
        this.source = source;
        if (node_process.env.LOG_TOKENS)
            console.log('|', cst.prettyToken(source));
        if (this.atScalar) {
            this.atScalar = false;
            yield* this.step();
            this.offset += source.length;
            return;
        }
        const type = cst.tokenType(source);
        if (!type) {
            const message = `Not a YAML token: ${source}`;
            yield* this.pop({ type: 'error', offset: this.offset, message, source });
            this.offset += source.length;
        }
        else if (type === 'scalar') {
            this.atNewLine = false;
            this.atScalar = true;
            this.type = 'scalar';
        }
        else {
            this.type = type;
            yield* this.step();
            switch (type) {
                case 'newline':
                    this.atNewLine = true;
                    this.indent = 0;
                    if (this.onNewLine)
                        this.onNewLine(this.offset + source.length);
                    break;
                case 'space':
                    if (this.atNewLine && source[0] === ' ')
                        this.indent += source.length;
                    break;
                case 'explicit-key-ind':
                case 'map-value-ind':
                case 'seq-item-ind':
                    if (this.atNewLine)
                        this.indent += source.length;
                    break;
                case 'doc-mode':
                case 'flow-error-end':
                    return;
                default:
                    this.atNewLine = false;
            }
            this.offset += source.length;
        }
    }
    /** Call at end of input to push out any remaining constructions */
    *end() {
        while (this.stack.length > 0)
            yield* this.pop();
    }
    get sourceToken() {
        const st = {
            type: this.type,
            offset: this.offset,
            indent: this.indent,
            source: this.source
        };
        return st;
    }
    *step() {
        const top = this.peek(1);
        if (this.type === 'doc-end' && top?.type !== 'doc-end') {
            while (this.stack.length > 0)
                yield* this.pop();
            this.stack.push({
                type: 'doc-end',
                offset: this.offset,
                source: this.source
            });
            return;
        }
        if (!top)
            return yield* this.stream();
        switch (top.type) {
            case 'document':
                return yield* this.document(top);
            case 'alias':
            case 'scalar':
            case 'single-quoted-scalar':
            case 'double-quoted-scalar':
                return yield* this.scalar(top);
            case 'block-scalar':
                return yield* this.blockScalar(top);
            case 'block-map':
                return yield* this.blockMap(top);
            case 'block-seq':
                return yield* this.blockSequence(top);
            case 'flow-collection':
                return yield* this.flowCollection(top);
            case 'doc-end':
                return yield* this.documentEnd(top);
        }
        /* istanbul ignore next should not happen */
        yield* this.pop();
    }
    peek(n) {
        return this.stack[this.stack.length - n];
    }
    *pop(error) {
        const token = error ?? this.stack.pop();
        /* istanbul ignore if should not happen */
        if (!token) {
            const message = 'Tried to pop an empty stack';
            yield { type: 'error', offset: this.offset, source: '', message };
        }
        else if (this.stack.length === 0) {
            yield token;
        }
        else {
            const top = this.peek(1);
            if (token.type === 'block-scalar') {
                // Block scalars use their parent rather than header indent
                token.indent = 'indent' in top ? top.indent : 0;
            }
            else if (token.type === 'flow-collection' && top.type === 'document') {
                // Ignore all indent for top-level flow collections
                token.indent = 0;
            }
            if (token.type === 'flow-collection')
                fixFlowSeqItems(token);
            switch (top.type) {
                case 'document':
                    top.value = token;
                    break;
                case 'block-scalar':
                    top.props.push(token); // error
                    break;
                case 'block-map': {
                    const it = top.items[top.items.length - 1];
                    if (it.value) {
                        top.items.push({ start: [], key: token, sep: [] });
                        this.onKeyLine = true;
                        return;
                    }
                    else if (it.sep) {
                        it.value = token;
                    }
                    else {
                        Object.assign(it, { key: token, sep: [] });
                        this.onKeyLine = !it.explicitKey;
                        return;
                    }
                    break;
                }
                case 'block-seq': {
                    const it = top.items[top.items.length - 1];
                    if (it.value)
                        top.items.push({ start: [], value: token });
                    else
                        it.value = token;
                    break;
                }
                case 'flow-collection': {
                    const it = top.items[top.items.length - 1];
                    if (!it || it.value)
                        top.items.push({ start: [], key: token, sep: [] });
                    else if (it.sep)
                        it.value = token;
                    else
                        Object.assign(it, { key: token, sep: [] });
                    return;
                }
                /* istanbul ignore next should not happen */
                default:
                    yield* this.pop();
                    yield* this.pop(token);
            }
            if ((top.type === 'document' ||
                top.type === 'block-map' ||
                top.type === 'block-seq') &&
                (token.type === 'block-map' || token.type === 'block-seq')) {
                const last = token.items[token.items.length - 1];
                if (last &&
                    !last.sep &&
                    !last.value &&
                    last.start.length > 0 &&
                    findNonEmptyIndex(last.start) === -1 &&
                    (token.indent === 0 ||
                        last.start.every(st => st.type !== 'comment' || st.indent < token.indent))) {
                    if (top.type === 'document')
                        top.end = last.start;
                    else
                        top.items.push({ start: last.start });
                    token.items.splice(-1, 1);
                }
            }
        }
    }
    *stream() {
        switch (this.type) {
            case 'directive-line':
                yield { type: 'directive', offset: this.offset, source: this.source };
                return;
            case 'byte-order-mark':
            case 'space':
            case 'comment':
            case 'newline':
                yield this.sourceToken;
                return;
            case 'doc-mode':
            case 'doc-start': {
                const doc = {
                    type: 'document',
                    offset: this.offset,
                    start: []
                };
                if (this.type === 'doc-start')
                    doc.start.push(this.sourceToken);
                this.stack.push(doc);
                return;
            }
        }
        yield {
            type: 'error',
            offset: this.offset,
            message: `Unexpected ${this.type} token in YAML stream`,
            source: this.source
        };
    }
    *document(doc) {
        if (doc.value)
            return yield* this.lineEnd(doc);
        switch (this.type) {
            case 'doc-start': {
                if (findNonEmptyIndex(doc.start) !== -1) {
                    yield* this.pop();
                    yield* this.step();
                }
                else
                    doc.start.push(this.sourceToken);
                return;
            }
            case 'anchor':
            case 'tag':
            case 'space':
            case 'comment':
            case 'newline':
                doc.start.push(this.sourceToken);
                return;
        }
        const bv = this.startBlockValue(doc);
        if (bv)
            this.stack.push(bv);
        else {
            yield {
                type: 'error',
                offset: this.offset,
                message: `Unexpected ${this.type} token in YAML document`,
                source: this.source
            };
        }
    }
    *scalar(scalar) {
        if (this.type === 'map-value-ind') {
            const prev = getPrevProps(this.peek(2));
            const start = getFirstKeyStartProps(prev);
            let sep;
            if (scalar.end) {
                sep = scalar.end;
                sep.push(this.sourceToken);
                delete scalar.end;
            }
            else
                sep = [this.sourceToken];
            const map = {
                type: 'block-map',
                offset: scalar.offset,
                indent: scalar.indent,
                items: [{ start, key: scalar, sep }]
            };
            this.onKeyLine = true;
            this.stack[this.stack.length - 1] = map;
        }
        else
            yield* this.lineEnd(scalar);
    }
    *blockScalar(scalar) {
        switch (this.type) {
            case 'space':
            case 'comment':
            case 'newline':
                scalar.props.push(this.sourceToken);
                return;
            case 'scalar':
                scalar.source = this.source;
                // block-scalar source includes trailing newline
                this.atNewLine = true;
                this.indent = 0;
                if (this.onNewLine) {
                    let nl = this.source.indexOf('\n') + 1;
                    while (nl !== 0) {
                        this.onNewLine(this.offset + nl);
                        nl = this.source.indexOf('\n', nl) + 1;
                    }
                }
                yield* this.pop();
                break;
            /* istanbul ignore next should not happen */
            default:
                yield* this.pop();
                yield* this.step();
        }
    }
    *blockMap(map) {
        const it = map.items[map.items.length - 1];
        // it.sep is true-ish if pair already has key or : separator
        switch (this.type) {
            case 'newline':
                this.onKeyLine = false;
                if (it.value) {
                    const end = 'end' in it.value ? it.value.end : undefined;
                    const last = Array.isArray(end) ? end[end.length - 1] : undefined;
                    if (last?.type === 'comment')
                        end?.push(this.sourceToken);
                    else
                        map.items.push({ start: [this.sourceToken] });
                }
                else if (it.sep) {
                    it.sep.push(this.sourceToken);
                }
                else {
                    it.start.push(this.sourceToken);
                }
                return;
            case 'space':
            case 'comment':
                if (it.value) {
                    map.items.push({ start: [this.sourceToken] });
                }
                else if (it.sep) {
                    it.sep.push(this.sourceToken);
                }
                else {
                    if (this.atIndentedComment(it.start, map.indent)) {
                        const prev = map.items[map.items.length - 2];
                        const end = prev?.value?.end;
                        if (Array.isArray(end)) {
                            arrayPushArray(end, it.start);
                            end.push(this.sourceToken);
                            map.items.pop();
                            return;
                        }
                    }
                    it.start.push(this.sourceToken);
                }
                return;
        }
        if (this.indent >= map.indent) {
            const atMapIndent = !this.onKeyLine && this.indent === map.indent;
            const atNextItem = atMapIndent &&
                (it.sep || it.explicitKey) &&
                this.type !== 'seq-item-ind';
            // For empty nodes, assign newline-separated not indented empty tokens to following node
            let start = [];
            if (atNextItem && it.sep && !it.value) {
                const nl = [];
                for (let i = 0; i < it.sep.length; ++i) {
                    const st = it.sep[i];
                    switch (st.type) {
                        case 'newline':
                            nl.push(i);
                            break;
                        case 'space':
                            break;
                        case 'comment':
                            if (st.indent > map.indent)
                                nl.length = 0;
                            break;
                        default:
                            nl.length = 0;
                    }
                }
                if (nl.length >= 2)
                    start = it.sep.splice(nl[1]);
            }
            switch (this.type) {
                case 'anchor':
                case 'tag':
                    if (atNextItem || it.value) {
                        start.push(this.sourceToken);
                        map.items.push({ start });
                        this.onKeyLine = true;
                    }
                    else if (it.sep) {
                        it.sep.push(this.sourceToken);
                    }
                    else {
                        it.start.push(this.sourceToken);
                    }
                    return;
                case 'explicit-key-ind':
                    if (!it.sep && !it.explicitKey) {
                        it.start.push(this.sourceToken);
                        it.explicitKey = true;
                    }
                    else if (atNextItem || it.value) {
                        start.push(this.sourceToken);
                        map.items.push({ start, explicitKey: true });
                    }
                    else {
                        this.stack.push({
                            type: 'block-map',
                            offset: this.offset,
                            indent: this.indent,
                            items: [{ start: [this.sourceToken], explicitKey: true }]
                        });
                    }
                    this.onKeyLine = true;
                    return;
                case 'map-value-ind':
                    if (it.explicitKey) {
                        if (!it.sep) {
                            if (includesToken(it.start, 'newline')) {
                                Object.assign(it, { key: null, sep: [this.sourceToken] });
                            }
                            else {
                                const start = getFirstKeyStartProps(it.start);
                                this.stack.push({
                                    type: 'block-map',
                                    offset: this.offset,
                                    indent: this.indent,
                                    items: [{ start, key: null, sep: [this.sourceToken] }]
                                });
                            }
                        }
                        else if (it.value) {
                            map.items.push({ start: [], key: null, sep: [this.sourceToken] });
                        }
                        else if (includesToken(it.sep, 'map-value-ind')) {
                            this.stack.push({
                                type: 'block-map',
                                offset: this.offset,
                                indent: this.indent,
                                items: [{ start, key: null, sep: [this.sourceToken] }]
                            });
                        }
                        else if (isFlowToken(it.key) &&
                            !includesToken(it.sep, 'newline')) {
                            const start = getFirstKeyStartProps(it.start);
                            const key = it.key;
                            const sep = it.sep;
                            sep.push(this.sourceToken);
                            // @ts-expect-error type guard is wrong here
                            delete it.key;
                            // @ts-expect-error type guard is wrong here
                            delete it.sep;
                            this.stack.push({
                                type: 'block-map',
                                offset: this.offset,
                                indent: this.indent,
                                items: [{ start, key, sep }]
                            });
                        }
                        else if (start.length > 0) {
                            // Not actually at next item
                            it.sep = it.sep.concat(start, this.sourceToken);
                        }
                        else {
                            it.sep.push(this.sourceToken);
                        }
                    }
                    else {
                        if (!it.sep) {
                            Object.assign(it, { key: null, sep: [this.sourceToken] });
                        }
                        else if (it.value || atNextItem) {
                            map.items.push({ start, key: null, sep: [this.sourceToken] });
                        }
                        else if (includesToken(it.sep, 'map-value-ind')) {
                            this.stack.push({
                                type: 'block-map',
                                offset: this.offset,
                                indent: this.indent,
                                items: [{ start: [], key: null, sep: [this.sourceToken] }]
                            });
                        }
                        else {
                            it.sep.push(this.sourceToken);
                        }
                    }
                    this.onKeyLine = true;
                    return;
                case 'alias':
                case 'scalar':
                case 'single-quoted-scalar':
                case 'double-quoted-scalar': {
                    const fs = this.flowScalar(this.type);
                    if (atNextItem || it.value) {
                        map.items.push({ start, key: fs, sep: [] });
                        this.onKeyLine = true;
                    }
                    else if (it.sep) {
                        this.stack.push(fs);
                    }
                    else {
                        Object.assign(it, { key: fs, sep: [] });
                        this.onKeyLine = true;
                    }
                    return;
                }
                default: {
                    const bv = this.startBlockValue(map);
                    if (bv) {
                        if (bv.type === 'block-seq') {
                            if (!it.explicitKey &&
                                it.sep &&
                                !includesToken(it.sep, 'newline')) {
                                yield* this.pop({
                                    type: 'error',
                                    offset: this.offset,
                                    message: 'Unexpected block-seq-ind on same line with key',
                                    source: this.source
                                });
                                return;
                            }
                        }
                        else if (atMapIndent) {
                            map.items.push({ start });
                        }
                        this.stack.push(bv);
                        return;
                    }
                }
            }
        }
        yield* this.pop();
        yield* this.step();
    }
    *blockSequence(seq) {
        const it = seq.items[seq.items.length - 1];
        switch (this.type) {
            case 'newline':
                if (it.value) {
                    const end = 'end' in it.value ? it.value.end : undefined;
                    const last = Array.isArray(end) ? end[end.length - 1] : undefined;
                    if (last?.type === 'comment')
                        end?.push(this.sourceToken);
                    else
                        seq.items.push({ start: [this.sourceToken] });
                }
                else
                    it.start.push(this.sourceToken);
                return;
            case 'space':
            case 'comment':
                if (it.value)
                    seq.items.push({ start: [this.sourceToken] });
                else {
                    if (this.atIndentedComment(it.start, seq.indent)) {
                        const prev = seq.items[seq.items.length - 2];
                        const end = prev?.value?.end;
                        if (Array.isArray(end)) {
                            arrayPushArray(end, it.start);
                            end.push(this.sourceToken);
                            seq.items.pop();
                            return;
                        }
                    }
                    it.start.push(this.sourceToken);
                }
                return;
            case 'anchor':
            case 'tag':
                if (it.value || this.indent <= seq.indent)
                    break;
                it.start.push(this.sourceToken);
                return;
            case 'seq-item-ind':
                if (this.indent !== seq.indent)
                    break;
                if (it.value || includesToken(it.start, 'seq-item-ind'))
                    seq.items.push({ start: [this.sourceToken] });
                else
                    it.start.push(this.sourceToken);
                return;
        }
        if (this.indent > seq.indent) {
            const bv = this.startBlockValue(seq);
            if (bv) {
                this.stack.push(bv);
                return;
            }
        }
        yield* this.pop();
        yield* this.step();
    }
    *flowCollection(fc) {
        const it = fc.items[fc.items.length - 1];
        if (this.type === 'flow-error-end') {
            let top;
            do {
                yield* this.pop();
                top = this.peek(1);
            } while (top?.type === 'flow-collection');
        }
        else if (fc.end.length === 0) {
            switch (this.type) {
                case 'comma':
                case 'explicit-key-ind':
                    if (!it || it.sep)
                        fc.items.push({ start: [this.sourceToken] });
                    else
                        it.start.push(this.sourceToken);
                    return;
                case 'map-value-ind':
                    if (!it || it.value)
                        fc.items.push({ start: [], key: null, sep: [this.sourceToken] });
                    else if (it.sep)
                        it.sep.push(this.sourceToken);
                    else
                        Object.assign(it, { key: null, sep: [this.sourceToken] });
                    return;
                case 'space':
                case 'comment':
                case 'newline':
                case 'anchor':
                case 'tag':
                    if (!it || it.value)
                        fc.items.push({ start: [this.sourceToken] });
                    else if (it.sep)
                        it.sep.push(this.sourceToken);
                    else
                        it.start.push(this.sourceToken);
                    return;
                case 'alias':
                case 'scalar':
                case 'single-quoted-scalar':
                case 'double-quoted-scalar': {
                    const fs = this.flowScalar(this.type);
                    if (!it || it.value)
                        fc.items.push({ start: [], key: fs, sep: [] });
                    else if (it.sep)
                        this.stack.push(fs);
                    else
                        Object.assign(it, { key: fs, sep: [] });
                    return;
                }
                case 'flow-map-end':
                case 'flow-seq-end':
                    fc.end.push(this.sourceToken);
                    return;
            }
            const bv = this.startBlockValue(fc);
            /* istanbul ignore else should not happen */
            if (bv)
                this.stack.push(bv);
            else {
                yield* this.pop();
                yield* this.step();
            }
        }
        else {
            const parent = this.peek(2);
            if (parent.type === 'block-map' &&
                ((this.type === 'map-value-ind' && parent.indent === fc.indent) ||
                    (this.type === 'newline' &&
                        !parent.items[parent.items.length - 1].sep))) {
                yield* this.pop();
                yield* this.step();
            }
            else if (this.type === 'map-value-ind' &&
                parent.type !== 'flow-collection') {
                const prev = getPrevProps(parent);
                const start = getFirstKeyStartProps(prev);
                fixFlowSeqItems(fc);
                const sep = fc.end.splice(1, fc.end.length);
                sep.push(this.sourceToken);
                const map = {
                    type: 'block-map',
                    offset: fc.offset,
                    indent: fc.indent,
                    items: [{ start, key: fc, sep }]
                };
                this.onKeyLine = true;
                this.stack[this.stack.length - 1] = map;
            }
            else {
                yield* this.lineEnd(fc);
            }
        }
    }
    flowScalar(type) {
        if (this.onNewLine) {
            let nl = this.source.indexOf('\n') + 1;
            while (nl !== 0) {
                this.onNewLine(this.offset + nl);
                nl = this.source.indexOf('\n', nl) + 1;
            }
        }
        return {
            type,
            offset: this.offset,
            indent: this.indent,
            source: this.source
        };
    }
    startBlockValue(parent) {
        switch (this.type) {
            case 'alias':
            case 'scalar':
            case 'single-quoted-scalar':
            case 'double-quoted-scalar':
                return this.flowScalar(this.type);
            case 'block-scalar-header':
                return {
                    type: 'block-scalar',
                    offset: this.offset,
                    indent: this.indent,
                    props: [this.sourceToken],
                    source: ''
                };
            case 'flow-map-start':
            case 'flow-seq-start':
                return {
                    type: 'flow-collection',
                    offset: this.offset,
                    indent: this.indent,
                    start: this.sourceToken,
                    items: [],
                    end: []
                };
            case 'seq-item-ind':
                return {
                    type: 'block-seq',
                    offset: this.offset,
                    indent: this.indent,
                    items: [{ start: [this.sourceToken] }]
                };
            case 'explicit-key-ind': {
                this.onKeyLine = true;
                const prev = getPrevProps(parent);
                const start = getFirstKeyStartProps(prev);
                start.push(this.sourceToken);
                return {
                    type: 'block-map',
                    offset: this.offset,
                    indent: this.indent,
                    items: [{ start, explicitKey: true }]
                };
            }
            case 'map-value-ind': {
                this.onKeyLine = true;
                const prev = getPrevProps(parent);
                const start = getFirstKeyStartProps(prev);
                return {
                    type: 'block-map',
                    offset: this.offset,
                    indent: this.indent,
                    items: [{ start, key: null, sep: [this.sourceToken] }]
                };
            }
        }
        return null;
    }
    atIndentedComment(start, indent) {
        if (this.type !== 'comment')
            return false;
        if (this.indent <= indent)
            return false;
        return start.every(st => st.type === 'newline' || st.type === 'space');
    }
    *documentEnd(docEnd) {
        if (this.type !== 'doc-mode') {
            if (docEnd.end)
                docEnd.end.push(this.sourceToken);
            else
                docEnd.end = [this.sourceToken];
            if (this.type === 'newline')
                yield* this.pop();
        }
    }
    *lineEnd(token) {
        switch (this.type) {
            case 'comma':
            case 'doc-start':
            case 'doc-end':
            case 'flow-seq-end':
            case 'flow-map-end':
            case 'map-value-ind':
                yield* this.pop();
                yield* this.step();
                break;
            case 'newline':
                this.onKeyLine = false;
            // fallthrough
            case 'space':
            case 'comment':
            default:
                // all other values are errors
                if (token.end)
                    token.end.push(this.sourceToken);
                else
                    token.end = [this.sourceToken];
                if (this.type === 'newline')
                    yield* this.pop();
        }
    }
}

exports.Parser = Parser;


/***/ }),

/***/ 4047:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var composer = __nccwpck_require__(9984);
var Document = __nccwpck_require__(3021);
var errors = __nccwpck_require__(1464);
var log = __nccwpck_require__(7249);
var identity = __nccwpck_require__(1127);
var lineCounter = __nccwpck_require__(6628);
var parser = __nccwpck_require__(3456);

function parseOptions(options) {
    const prettyErrors = options.prettyErrors !== false;
    const lineCounter$1 = options.lineCounter || (prettyErrors && new lineCounter.LineCounter()) || null;
    return { lineCounter: lineCounter$1, prettyErrors };
}
/**
 * Parse the input as a stream of YAML documents.
 *
 * Documents should be separated from each other by `...` or `---` marker lines.
 *
 * @returns If an empty `docs` array is returned, it will be of type
 *   EmptyStream and contain additional stream information. In
 *   TypeScript, you should use `'empty' in docs` as a type guard for it.
 */
function parseAllDocuments(source, options = {}) {
    const { lineCounter, prettyErrors } = parseOptions(options);
    const parser$1 = new parser.Parser(lineCounter?.addNewLine);
    const composer$1 = new composer.Composer(options);
    const docs = Array.from(composer$1.compose(parser$1.parse(source)));
    if (prettyErrors && lineCounter)
        for (const doc of docs) {
            doc.errors.forEach(errors.prettifyError(source, lineCounter));
            doc.warnings.forEach(errors.prettifyError(source, lineCounter));
        }
    if (docs.length > 0)
        return docs;
    return Object.assign([], { empty: true }, composer$1.streamInfo());
}
/** Parse an input string into a single YAML.Document */
function parseDocument(source, options = {}) {
    const { lineCounter, prettyErrors } = parseOptions(options);
    const parser$1 = new parser.Parser(lineCounter?.addNewLine);
    const composer$1 = new composer.Composer(options);
    // `doc` is always set by compose.end(true) at the very latest
    let doc = null;
    for (const _doc of composer$1.compose(parser$1.parse(source), true, source.length)) {
        if (!doc)
            doc = _doc;
        else if (doc.options.logLevel !== 'silent') {
            doc.errors.push(new errors.YAMLParseError(_doc.range.slice(0, 2), 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()'));
            break;
        }
    }
    if (prettyErrors && lineCounter) {
        doc.errors.forEach(errors.prettifyError(source, lineCounter));
        doc.warnings.forEach(errors.prettifyError(source, lineCounter));
    }
    return doc;
}
function parse(src, reviver, options) {
    let _reviver = undefined;
    if (typeof reviver === 'function') {
        _reviver = reviver;
    }
    else if (options === undefined && reviver && typeof reviver === 'object') {
        options = reviver;
    }
    const doc = parseDocument(src, options);
    if (!doc)
        return null;
    doc.warnings.forEach(warning => log.warn(doc.options.logLevel, warning));
    if (doc.errors.length > 0) {
        if (doc.options.logLevel !== 'silent')
            throw doc.errors[0];
        else
            doc.errors = [];
    }
    return doc.toJS(Object.assign({ reviver: _reviver }, options));
}
function stringify(value, replacer, options) {
    let _replacer = null;
    if (typeof replacer === 'function' || Array.isArray(replacer)) {
        _replacer = replacer;
    }
    else if (options === undefined && replacer) {
        options = replacer;
    }
    if (typeof options === 'string')
        options = options.length;
    if (typeof options === 'number') {
        const indent = Math.round(options);
        options = indent < 1 ? undefined : indent > 8 ? { indent: 8 } : { indent };
    }
    if (value === undefined) {
        const { keepUndefined } = options ?? replacer ?? {};
        if (!keepUndefined)
            return undefined;
    }
    if (identity.isDocument(value) && !_replacer)
        return value.toString(options);
    return new Document.Document(value, _replacer, options).toString(options);
}

exports.parse = parse;
exports.parseAllDocuments = parseAllDocuments;
exports.parseDocument = parseDocument;
exports.stringify = stringify;


/***/ }),

/***/ 5840:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var map = __nccwpck_require__(7451);
var seq = __nccwpck_require__(1706);
var string = __nccwpck_require__(6464);
var tags = __nccwpck_require__(18);

const sortMapEntriesByKey = (a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
class Schema {
    constructor({ compat, customTags, merge, resolveKnownTags, schema, sortMapEntries, toStringDefaults }) {
        this.compat = Array.isArray(compat)
            ? tags.getTags(compat, 'compat')
            : compat
                ? tags.getTags(null, compat)
                : null;
        this.name = (typeof schema === 'string' && schema) || 'core';
        this.knownTags = resolveKnownTags ? tags.coreKnownTags : {};
        this.tags = tags.getTags(customTags, this.name, merge);
        this.toStringOptions = toStringDefaults ?? null;
        Object.defineProperty(this, identity.MAP, { value: map.map });
        Object.defineProperty(this, identity.SCALAR, { value: string.string });
        Object.defineProperty(this, identity.SEQ, { value: seq.seq });
        // Used by createMap()
        this.sortMapEntries =
            typeof sortMapEntries === 'function'
                ? sortMapEntries
                : sortMapEntries === true
                    ? sortMapEntriesByKey
                    : null;
    }
    clone() {
        const copy = Object.create(Schema.prototype, Object.getOwnPropertyDescriptors(this));
        copy.tags = this.tags.slice();
        return copy;
    }
}

exports.Schema = Schema;


/***/ }),

/***/ 7451:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var YAMLMap = __nccwpck_require__(4454);

const map = {
    collection: 'map',
    default: true,
    nodeClass: YAMLMap.YAMLMap,
    tag: 'tag:yaml.org,2002:map',
    resolve(map, onError) {
        if (!identity.isMap(map))
            onError('Expected a mapping for this tag');
        return map;
    },
    createNode: (schema, obj, ctx) => YAMLMap.YAMLMap.from(schema, obj, ctx)
};

exports.map = map;


/***/ }),

/***/ 3632:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Scalar = __nccwpck_require__(3301);

const nullTag = {
    identify: value => value == null,
    createNode: () => new Scalar.Scalar(null),
    default: true,
    tag: 'tag:yaml.org,2002:null',
    test: /^(?:~|[Nn]ull|NULL)?$/,
    resolve: () => new Scalar.Scalar(null),
    stringify: ({ source }, ctx) => typeof source === 'string' && nullTag.test.test(source)
        ? source
        : ctx.options.nullStr
};

exports.nullTag = nullTag;


/***/ }),

/***/ 1706:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var YAMLSeq = __nccwpck_require__(2223);

const seq = {
    collection: 'seq',
    default: true,
    nodeClass: YAMLSeq.YAMLSeq,
    tag: 'tag:yaml.org,2002:seq',
    resolve(seq, onError) {
        if (!identity.isSeq(seq))
            onError('Expected a sequence for this tag');
        return seq;
    },
    createNode: (schema, obj, ctx) => YAMLSeq.YAMLSeq.from(schema, obj, ctx)
};

exports.seq = seq;


/***/ }),

/***/ 6464:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var stringifyString = __nccwpck_require__(3069);

const string = {
    identify: value => typeof value === 'string',
    default: true,
    tag: 'tag:yaml.org,2002:str',
    resolve: str => str,
    stringify(item, ctx, onComment, onChompKeep) {
        ctx = Object.assign({ actualString: true }, ctx);
        return stringifyString.stringifyString(item, ctx, onComment, onChompKeep);
    }
};

exports.string = string;


/***/ }),

/***/ 3959:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Scalar = __nccwpck_require__(3301);

const boolTag = {
    identify: value => typeof value === 'boolean',
    default: true,
    tag: 'tag:yaml.org,2002:bool',
    test: /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
    resolve: str => new Scalar.Scalar(str[0] === 't' || str[0] === 'T'),
    stringify({ source, value }, ctx) {
        if (source && boolTag.test.test(source)) {
            const sv = source[0] === 't' || source[0] === 'T';
            if (value === sv)
                return source;
        }
        return value ? ctx.options.trueStr : ctx.options.falseStr;
    }
};

exports.boolTag = boolTag;


/***/ }),

/***/ 8405:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Scalar = __nccwpck_require__(3301);
var stringifyNumber = __nccwpck_require__(8689);

const floatNaN = {
    identify: value => typeof value === 'number',
    default: true,
    tag: 'tag:yaml.org,2002:float',
    test: /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
    resolve: str => str.slice(-3).toLowerCase() === 'nan'
        ? NaN
        : str[0] === '-'
            ? Number.NEGATIVE_INFINITY
            : Number.POSITIVE_INFINITY,
    stringify: stringifyNumber.stringifyNumber
};
const floatExp = {
    identify: value => typeof value === 'number',
    default: true,
    tag: 'tag:yaml.org,2002:float',
    format: 'EXP',
    test: /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
    resolve: str => parseFloat(str),
    stringify(node) {
        const num = Number(node.value);
        return isFinite(num) ? num.toExponential() : stringifyNumber.stringifyNumber(node);
    }
};
const float = {
    identify: value => typeof value === 'number',
    default: true,
    tag: 'tag:yaml.org,2002:float',
    test: /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
    resolve(str) {
        const node = new Scalar.Scalar(parseFloat(str));
        const dot = str.indexOf('.');
        if (dot !== -1 && str[str.length - 1] === '0')
            node.minFractionDigits = str.length - dot - 1;
        return node;
    },
    stringify: stringifyNumber.stringifyNumber
};

exports.float = float;
exports.floatExp = floatExp;
exports.floatNaN = floatNaN;


/***/ }),

/***/ 9874:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var stringifyNumber = __nccwpck_require__(8689);

const intIdentify = (value) => typeof value === 'bigint' || Number.isInteger(value);
const intResolve = (str, offset, radix, { intAsBigInt }) => (intAsBigInt ? BigInt(str) : parseInt(str.substring(offset), radix));
function intStringify(node, radix, prefix) {
    const { value } = node;
    if (intIdentify(value) && value >= 0)
        return prefix + value.toString(radix);
    return stringifyNumber.stringifyNumber(node);
}
const intOct = {
    identify: value => intIdentify(value) && value >= 0,
    default: true,
    tag: 'tag:yaml.org,2002:int',
    format: 'OCT',
    test: /^0o[0-7]+$/,
    resolve: (str, _onError, opt) => intResolve(str, 2, 8, opt),
    stringify: node => intStringify(node, 8, '0o')
};
const int = {
    identify: intIdentify,
    default: true,
    tag: 'tag:yaml.org,2002:int',
    test: /^[-+]?[0-9]+$/,
    resolve: (str, _onError, opt) => intResolve(str, 0, 10, opt),
    stringify: stringifyNumber.stringifyNumber
};
const intHex = {
    identify: value => intIdentify(value) && value >= 0,
    default: true,
    tag: 'tag:yaml.org,2002:int',
    format: 'HEX',
    test: /^0x[0-9a-fA-F]+$/,
    resolve: (str, _onError, opt) => intResolve(str, 2, 16, opt),
    stringify: node => intStringify(node, 16, '0x')
};

exports.int = int;
exports.intHex = intHex;
exports.intOct = intOct;


/***/ }),

/***/ 896:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var map = __nccwpck_require__(7451);
var _null = __nccwpck_require__(3632);
var seq = __nccwpck_require__(1706);
var string = __nccwpck_require__(6464);
var bool = __nccwpck_require__(3959);
var float = __nccwpck_require__(8405);
var int = __nccwpck_require__(9874);

const schema = [
    map.map,
    seq.seq,
    string.string,
    _null.nullTag,
    bool.boolTag,
    int.intOct,
    int.int,
    int.intHex,
    float.floatNaN,
    float.floatExp,
    float.float
];

exports.schema = schema;


/***/ }),

/***/ 3559:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Scalar = __nccwpck_require__(3301);
var map = __nccwpck_require__(7451);
var seq = __nccwpck_require__(1706);

function intIdentify(value) {
    return typeof value === 'bigint' || Number.isInteger(value);
}
const stringifyJSON = ({ value }) => JSON.stringify(value);
const jsonScalars = [
    {
        identify: value => typeof value === 'string',
        default: true,
        tag: 'tag:yaml.org,2002:str',
        resolve: str => str,
        stringify: stringifyJSON
    },
    {
        identify: value => value == null,
        createNode: () => new Scalar.Scalar(null),
        default: true,
        tag: 'tag:yaml.org,2002:null',
        test: /^null$/,
        resolve: () => null,
        stringify: stringifyJSON
    },
    {
        identify: value => typeof value === 'boolean',
        default: true,
        tag: 'tag:yaml.org,2002:bool',
        test: /^true$|^false$/,
        resolve: str => str === 'true',
        stringify: stringifyJSON
    },
    {
        identify: intIdentify,
        default: true,
        tag: 'tag:yaml.org,2002:int',
        test: /^-?(?:0|[1-9][0-9]*)$/,
        resolve: (str, _onError, { intAsBigInt }) => intAsBigInt ? BigInt(str) : parseInt(str, 10),
        stringify: ({ value }) => intIdentify(value) ? value.toString() : JSON.stringify(value)
    },
    {
        identify: value => typeof value === 'number',
        default: true,
        tag: 'tag:yaml.org,2002:float',
        test: /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?$/,
        resolve: str => parseFloat(str),
        stringify: stringifyJSON
    }
];
const jsonError = {
    default: true,
    tag: '',
    test: /^/,
    resolve(str, onError) {
        onError(`Unresolved plain scalar ${JSON.stringify(str)}`);
        return str;
    }
};
const schema = [map.map, seq.seq].concat(jsonScalars, jsonError);

exports.schema = schema;


/***/ }),

/***/ 18:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var map = __nccwpck_require__(7451);
var _null = __nccwpck_require__(3632);
var seq = __nccwpck_require__(1706);
var string = __nccwpck_require__(6464);
var bool = __nccwpck_require__(3959);
var float = __nccwpck_require__(8405);
var int = __nccwpck_require__(9874);
var schema = __nccwpck_require__(896);
var schema$1 = __nccwpck_require__(3559);
var binary = __nccwpck_require__(6083);
var merge = __nccwpck_require__(452);
var omap = __nccwpck_require__(303);
var pairs = __nccwpck_require__(8385);
var schema$2 = __nccwpck_require__(5913);
var set = __nccwpck_require__(1528);
var timestamp = __nccwpck_require__(6752);

const schemas = new Map([
    ['core', schema.schema],
    ['failsafe', [map.map, seq.seq, string.string]],
    ['json', schema$1.schema],
    ['yaml11', schema$2.schema],
    ['yaml-1.1', schema$2.schema]
]);
const tagsByName = {
    binary: binary.binary,
    bool: bool.boolTag,
    float: float.float,
    floatExp: float.floatExp,
    floatNaN: float.floatNaN,
    floatTime: timestamp.floatTime,
    int: int.int,
    intHex: int.intHex,
    intOct: int.intOct,
    intTime: timestamp.intTime,
    map: map.map,
    merge: merge.merge,
    null: _null.nullTag,
    omap: omap.omap,
    pairs: pairs.pairs,
    seq: seq.seq,
    set: set.set,
    timestamp: timestamp.timestamp
};
const coreKnownTags = {
    'tag:yaml.org,2002:binary': binary.binary,
    'tag:yaml.org,2002:merge': merge.merge,
    'tag:yaml.org,2002:omap': omap.omap,
    'tag:yaml.org,2002:pairs': pairs.pairs,
    'tag:yaml.org,2002:set': set.set,
    'tag:yaml.org,2002:timestamp': timestamp.timestamp
};
function getTags(customTags, schemaName, addMergeTag) {
    const schemaTags = schemas.get(schemaName);
    if (schemaTags && !customTags) {
        return addMergeTag && !schemaTags.includes(merge.merge)
            ? schemaTags.concat(merge.merge)
            : schemaTags.slice();
    }
    let tags = schemaTags;
    if (!tags) {
        if (Array.isArray(customTags))
            tags = [];
        else {
            const keys = Array.from(schemas.keys())
                .filter(key => key !== 'yaml11')
                .map(key => JSON.stringify(key))
                .join(', ');
            throw new Error(`Unknown schema "${schemaName}"; use one of ${keys} or define customTags array`);
        }
    }
    if (Array.isArray(customTags)) {
        for (const tag of customTags)
            tags = tags.concat(tag);
    }
    else if (typeof customTags === 'function') {
        tags = customTags(tags.slice());
    }
    if (addMergeTag)
        tags = tags.concat(merge.merge);
    return tags.reduce((tags, tag) => {
        const tagObj = typeof tag === 'string' ? tagsByName[tag] : tag;
        if (!tagObj) {
            const tagName = JSON.stringify(tag);
            const keys = Object.keys(tagsByName)
                .map(key => JSON.stringify(key))
                .join(', ');
            throw new Error(`Unknown custom tag ${tagName}; use one of ${keys}`);
        }
        if (!tags.includes(tagObj))
            tags.push(tagObj);
        return tags;
    }, []);
}

exports.coreKnownTags = coreKnownTags;
exports.getTags = getTags;


/***/ }),

/***/ 6083:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var node_buffer = __nccwpck_require__(181);
var Scalar = __nccwpck_require__(3301);
var stringifyString = __nccwpck_require__(3069);

const binary = {
    identify: value => value instanceof Uint8Array, // Buffer inherits from Uint8Array
    default: false,
    tag: 'tag:yaml.org,2002:binary',
    /**
     * Returns a Buffer in node and an Uint8Array in browsers
     *
     * To use the resulting buffer as an image, you'll want to do something like:
     *
     *   const blob = new Blob([buffer], { type: 'image/jpeg' })
     *   document.querySelector('#photo').src = URL.createObjectURL(blob)
     */
    resolve(src, onError) {
        if (typeof node_buffer.Buffer === 'function') {
            return node_buffer.Buffer.from(src, 'base64');
        }
        else if (typeof atob === 'function') {
            // On IE 11, atob() can't handle newlines
            const str = atob(src.replace(/[\n\r]/g, ''));
            const buffer = new Uint8Array(str.length);
            for (let i = 0; i < str.length; ++i)
                buffer[i] = str.charCodeAt(i);
            return buffer;
        }
        else {
            onError('This environment does not support reading binary tags; either Buffer or atob is required');
            return src;
        }
    },
    stringify({ comment, type, value }, ctx, onComment, onChompKeep) {
        if (!value)
            return '';
        const buf = value; // checked earlier by binary.identify()
        let str;
        if (typeof node_buffer.Buffer === 'function') {
            str =
                buf instanceof node_buffer.Buffer
                    ? buf.toString('base64')
                    : node_buffer.Buffer.from(buf.buffer).toString('base64');
        }
        else if (typeof btoa === 'function') {
            let s = '';
            for (let i = 0; i < buf.length; ++i)
                s += String.fromCharCode(buf[i]);
            str = btoa(s);
        }
        else {
            throw new Error('This environment does not support writing binary tags; either Buffer or btoa is required');
        }
        type ?? (type = Scalar.Scalar.BLOCK_LITERAL);
        if (type !== Scalar.Scalar.QUOTE_DOUBLE) {
            const lineWidth = Math.max(ctx.options.lineWidth - ctx.indent.length, ctx.options.minContentWidth);
            const n = Math.ceil(str.length / lineWidth);
            const lines = new Array(n);
            for (let i = 0, o = 0; i < n; ++i, o += lineWidth) {
                lines[i] = str.substr(o, lineWidth);
            }
            str = lines.join(type === Scalar.Scalar.BLOCK_LITERAL ? '\n' : ' ');
        }
        return stringifyString.stringifyString({ comment, type, value: str }, ctx, onComment, onChompKeep);
    }
};

exports.binary = binary;


/***/ }),

/***/ 8398:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Scalar = __nccwpck_require__(3301);

function boolStringify({ value, source }, ctx) {
    const boolObj = value ? trueTag : falseTag;
    if (source && boolObj.test.test(source))
        return source;
    return value ? ctx.options.trueStr : ctx.options.falseStr;
}
const trueTag = {
    identify: value => value === true,
    default: true,
    tag: 'tag:yaml.org,2002:bool',
    test: /^(?:Y|y|[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/,
    resolve: () => new Scalar.Scalar(true),
    stringify: boolStringify
};
const falseTag = {
    identify: value => value === false,
    default: true,
    tag: 'tag:yaml.org,2002:bool',
    test: /^(?:N|n|[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/,
    resolve: () => new Scalar.Scalar(false),
    stringify: boolStringify
};

exports.falseTag = falseTag;
exports.trueTag = trueTag;


/***/ }),

/***/ 5782:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Scalar = __nccwpck_require__(3301);
var stringifyNumber = __nccwpck_require__(8689);

const floatNaN = {
    identify: value => typeof value === 'number',
    default: true,
    tag: 'tag:yaml.org,2002:float',
    test: /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
    resolve: (str) => str.slice(-3).toLowerCase() === 'nan'
        ? NaN
        : str[0] === '-'
            ? Number.NEGATIVE_INFINITY
            : Number.POSITIVE_INFINITY,
    stringify: stringifyNumber.stringifyNumber
};
const floatExp = {
    identify: value => typeof value === 'number',
    default: true,
    tag: 'tag:yaml.org,2002:float',
    format: 'EXP',
    test: /^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$/,
    resolve: (str) => parseFloat(str.replace(/_/g, '')),
    stringify(node) {
        const num = Number(node.value);
        return isFinite(num) ? num.toExponential() : stringifyNumber.stringifyNumber(node);
    }
};
const float = {
    identify: value => typeof value === 'number',
    default: true,
    tag: 'tag:yaml.org,2002:float',
    test: /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/,
    resolve(str) {
        const node = new Scalar.Scalar(parseFloat(str.replace(/_/g, '')));
        const dot = str.indexOf('.');
        if (dot !== -1) {
            const f = str.substring(dot + 1).replace(/_/g, '');
            if (f[f.length - 1] === '0')
                node.minFractionDigits = f.length;
        }
        return node;
    },
    stringify: stringifyNumber.stringifyNumber
};

exports.float = float;
exports.floatExp = floatExp;
exports.floatNaN = floatNaN;


/***/ }),

/***/ 873:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var stringifyNumber = __nccwpck_require__(8689);

const intIdentify = (value) => typeof value === 'bigint' || Number.isInteger(value);
function intResolve(str, offset, radix, { intAsBigInt }) {
    const sign = str[0];
    if (sign === '-' || sign === '+')
        offset += 1;
    str = str.substring(offset).replace(/_/g, '');
    if (intAsBigInt) {
        switch (radix) {
            case 2:
                str = `0b${str}`;
                break;
            case 8:
                str = `0o${str}`;
                break;
            case 16:
                str = `0x${str}`;
                break;
        }
        const n = BigInt(str);
        return sign === '-' ? BigInt(-1) * n : n;
    }
    const n = parseInt(str, radix);
    return sign === '-' ? -1 * n : n;
}
function intStringify(node, radix, prefix) {
    const { value } = node;
    if (intIdentify(value)) {
        const str = value.toString(radix);
        return value < 0 ? '-' + prefix + str.substr(1) : prefix + str;
    }
    return stringifyNumber.stringifyNumber(node);
}
const intBin = {
    identify: intIdentify,
    default: true,
    tag: 'tag:yaml.org,2002:int',
    format: 'BIN',
    test: /^[-+]?0b[0-1_]+$/,
    resolve: (str, _onError, opt) => intResolve(str, 2, 2, opt),
    stringify: node => intStringify(node, 2, '0b')
};
const intOct = {
    identify: intIdentify,
    default: true,
    tag: 'tag:yaml.org,2002:int',
    format: 'OCT',
    test: /^[-+]?0[0-7_]+$/,
    resolve: (str, _onError, opt) => intResolve(str, 1, 8, opt),
    stringify: node => intStringify(node, 8, '0')
};
const int = {
    identify: intIdentify,
    default: true,
    tag: 'tag:yaml.org,2002:int',
    test: /^[-+]?[0-9][0-9_]*$/,
    resolve: (str, _onError, opt) => intResolve(str, 0, 10, opt),
    stringify: stringifyNumber.stringifyNumber
};
const intHex = {
    identify: intIdentify,
    default: true,
    tag: 'tag:yaml.org,2002:int',
    format: 'HEX',
    test: /^[-+]?0x[0-9a-fA-F_]+$/,
    resolve: (str, _onError, opt) => intResolve(str, 2, 16, opt),
    stringify: node => intStringify(node, 16, '0x')
};

exports.int = int;
exports.intBin = intBin;
exports.intHex = intHex;
exports.intOct = intOct;


/***/ }),

/***/ 452:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var Scalar = __nccwpck_require__(3301);

// If the value associated with a merge key is a single mapping node, each of
// its key/value pairs is inserted into the current mapping, unless the key
// already exists in it. If the value associated with the merge key is a
// sequence, then this sequence is expected to contain mapping nodes and each
// of these nodes is merged in turn according to its order in the sequence.
// Keys in mapping nodes earlier in the sequence override keys specified in
// later mapping nodes. -- http://yaml.org/type/merge.html
const MERGE_KEY = '<<';
const merge = {
    identify: value => value === MERGE_KEY ||
        (typeof value === 'symbol' && value.description === MERGE_KEY),
    default: 'key',
    tag: 'tag:yaml.org,2002:merge',
    test: /^<<$/,
    resolve: () => Object.assign(new Scalar.Scalar(Symbol(MERGE_KEY)), {
        addToJSMap: addMergeToJSMap
    }),
    stringify: () => MERGE_KEY
};
const isMergeKey = (ctx, key) => (merge.identify(key) ||
    (identity.isScalar(key) &&
        (!key.type || key.type === Scalar.Scalar.PLAIN) &&
        merge.identify(key.value))) &&
    ctx?.doc.schema.tags.some(tag => tag.tag === merge.tag && tag.default);
function addMergeToJSMap(ctx, map, value) {
    const source = resolveAliasValue(ctx, value);
    if (identity.isSeq(source))
        for (const it of source.items)
            mergeValue(ctx, map, it);
    else if (Array.isArray(source))
        for (const it of source)
            mergeValue(ctx, map, it);
    else
        mergeValue(ctx, map, source);
}
function mergeValue(ctx, map, value) {
    const source = resolveAliasValue(ctx, value);
    if (!identity.isMap(source))
        throw new Error('Merge sources must be maps or map aliases');
    const srcMap = source.toJSON(null, ctx, Map);
    for (const [key, value] of srcMap) {
        if (map instanceof Map) {
            if (!map.has(key))
                map.set(key, value);
        }
        else if (map instanceof Set) {
            map.add(key);
        }
        else if (!Object.prototype.hasOwnProperty.call(map, key)) {
            Object.defineProperty(map, key, {
                value,
                writable: true,
                enumerable: true,
                configurable: true
            });
        }
    }
    return map;
}
function resolveAliasValue(ctx, value) {
    return ctx && identity.isAlias(value) ? value.resolve(ctx.doc, ctx) : value;
}

exports.addMergeToJSMap = addMergeToJSMap;
exports.isMergeKey = isMergeKey;
exports.merge = merge;


/***/ }),

/***/ 303:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var toJS = __nccwpck_require__(4043);
var YAMLMap = __nccwpck_require__(4454);
var YAMLSeq = __nccwpck_require__(2223);
var pairs = __nccwpck_require__(8385);

class YAMLOMap extends YAMLSeq.YAMLSeq {
    constructor() {
        super();
        this.add = YAMLMap.YAMLMap.prototype.add.bind(this);
        this.delete = YAMLMap.YAMLMap.prototype.delete.bind(this);
        this.get = YAMLMap.YAMLMap.prototype.get.bind(this);
        this.has = YAMLMap.YAMLMap.prototype.has.bind(this);
        this.set = YAMLMap.YAMLMap.prototype.set.bind(this);
        this.tag = YAMLOMap.tag;
    }
    /**
     * If `ctx` is given, the return type is actually `Map<unknown, unknown>`,
     * but TypeScript won't allow widening the signature of a child method.
     */
    toJSON(_, ctx) {
        if (!ctx)
            return super.toJSON(_);
        const map = new Map();
        if (ctx?.onCreate)
            ctx.onCreate(map);
        for (const pair of this.items) {
            let key, value;
            if (identity.isPair(pair)) {
                key = toJS.toJS(pair.key, '', ctx);
                value = toJS.toJS(pair.value, key, ctx);
            }
            else {
                key = toJS.toJS(pair, '', ctx);
            }
            if (map.has(key))
                throw new Error('Ordered maps must not include duplicate keys');
            map.set(key, value);
        }
        return map;
    }
    static from(schema, iterable, ctx) {
        const pairs$1 = pairs.createPairs(schema, iterable, ctx);
        const omap = new this();
        omap.items = pairs$1.items;
        return omap;
    }
}
YAMLOMap.tag = 'tag:yaml.org,2002:omap';
const omap = {
    collection: 'seq',
    identify: value => value instanceof Map,
    nodeClass: YAMLOMap,
    default: false,
    tag: 'tag:yaml.org,2002:omap',
    resolve(seq, onError) {
        const pairs$1 = pairs.resolvePairs(seq, onError);
        const seenKeys = [];
        for (const { key } of pairs$1.items) {
            if (identity.isScalar(key)) {
                if (seenKeys.includes(key.value)) {
                    onError(`Ordered maps must not include duplicate keys: ${key.value}`);
                }
                else {
                    seenKeys.push(key.value);
                }
            }
        }
        return Object.assign(new YAMLOMap(), pairs$1);
    },
    createNode: (schema, iterable, ctx) => YAMLOMap.from(schema, iterable, ctx)
};

exports.YAMLOMap = YAMLOMap;
exports.omap = omap;


/***/ }),

/***/ 8385:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var Pair = __nccwpck_require__(7165);
var Scalar = __nccwpck_require__(3301);
var YAMLSeq = __nccwpck_require__(2223);

function resolvePairs(seq, onError) {
    if (identity.isSeq(seq)) {
        for (let i = 0; i < seq.items.length; ++i) {
            let item = seq.items[i];
            if (identity.isPair(item))
                continue;
            else if (identity.isMap(item)) {
                if (item.items.length > 1)
                    onError('Each pair must have its own sequence indicator');
                const pair = item.items[0] || new Pair.Pair(new Scalar.Scalar(null));
                if (item.commentBefore)
                    pair.key.commentBefore = pair.key.commentBefore
                        ? `${item.commentBefore}\n${pair.key.commentBefore}`
                        : item.commentBefore;
                if (item.comment) {
                    const cn = pair.value ?? pair.key;
                    cn.comment = cn.comment
                        ? `${item.comment}\n${cn.comment}`
                        : item.comment;
                }
                item = pair;
            }
            seq.items[i] = identity.isPair(item) ? item : new Pair.Pair(item);
        }
    }
    else
        onError('Expected a sequence for this tag');
    return seq;
}
function createPairs(schema, iterable, ctx) {
    const { replacer } = ctx;
    const pairs = new YAMLSeq.YAMLSeq(schema);
    pairs.tag = 'tag:yaml.org,2002:pairs';
    let i = 0;
    if (iterable && Symbol.iterator in Object(iterable))
        for (let it of iterable) {
            if (typeof replacer === 'function')
                it = replacer.call(iterable, String(i++), it);
            let key, value;
            if (Array.isArray(it)) {
                if (it.length === 2) {
                    key = it[0];
                    value = it[1];
                }
                else
                    throw new TypeError(`Expected [key, value] tuple: ${it}`);
            }
            else if (it && it instanceof Object) {
                const keys = Object.keys(it);
                if (keys.length === 1) {
                    key = keys[0];
                    value = it[key];
                }
                else {
                    throw new TypeError(`Expected tuple with one key, not ${keys.length} keys`);
                }
            }
            else {
                key = it;
            }
            pairs.items.push(Pair.createPair(key, value, ctx));
        }
    return pairs;
}
const pairs = {
    collection: 'seq',
    default: false,
    tag: 'tag:yaml.org,2002:pairs',
    resolve: resolvePairs,
    createNode: createPairs
};

exports.createPairs = createPairs;
exports.pairs = pairs;
exports.resolvePairs = resolvePairs;


/***/ }),

/***/ 5913:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var map = __nccwpck_require__(7451);
var _null = __nccwpck_require__(3632);
var seq = __nccwpck_require__(1706);
var string = __nccwpck_require__(6464);
var binary = __nccwpck_require__(6083);
var bool = __nccwpck_require__(8398);
var float = __nccwpck_require__(5782);
var int = __nccwpck_require__(873);
var merge = __nccwpck_require__(452);
var omap = __nccwpck_require__(303);
var pairs = __nccwpck_require__(8385);
var set = __nccwpck_require__(1528);
var timestamp = __nccwpck_require__(6752);

const schema = [
    map.map,
    seq.seq,
    string.string,
    _null.nullTag,
    bool.trueTag,
    bool.falseTag,
    int.intBin,
    int.intOct,
    int.int,
    int.intHex,
    float.floatNaN,
    float.floatExp,
    float.float,
    binary.binary,
    merge.merge,
    omap.omap,
    pairs.pairs,
    set.set,
    timestamp.intTime,
    timestamp.floatTime,
    timestamp.timestamp
];

exports.schema = schema;


/***/ }),

/***/ 1528:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var Pair = __nccwpck_require__(7165);
var YAMLMap = __nccwpck_require__(4454);

class YAMLSet extends YAMLMap.YAMLMap {
    constructor(schema) {
        super(schema);
        this.tag = YAMLSet.tag;
    }
    add(key) {
        let pair;
        if (identity.isPair(key))
            pair = key;
        else if (key &&
            typeof key === 'object' &&
            'key' in key &&
            'value' in key &&
            key.value === null)
            pair = new Pair.Pair(key.key, null);
        else
            pair = new Pair.Pair(key, null);
        const prev = YAMLMap.findPair(this.items, pair.key);
        if (!prev)
            this.items.push(pair);
    }
    /**
     * If `keepPair` is `true`, returns the Pair matching `key`.
     * Otherwise, returns the value of that Pair's key.
     */
    get(key, keepPair) {
        const pair = YAMLMap.findPair(this.items, key);
        return !keepPair && identity.isPair(pair)
            ? identity.isScalar(pair.key)
                ? pair.key.value
                : pair.key
            : pair;
    }
    set(key, value) {
        if (typeof value !== 'boolean')
            throw new Error(`Expected boolean value for set(key, value) in a YAML set, not ${typeof value}`);
        const prev = YAMLMap.findPair(this.items, key);
        if (prev && !value) {
            this.items.splice(this.items.indexOf(prev), 1);
        }
        else if (!prev && value) {
            this.items.push(new Pair.Pair(key));
        }
    }
    toJSON(_, ctx) {
        return super.toJSON(_, ctx, Set);
    }
    toString(ctx, onComment, onChompKeep) {
        if (!ctx)
            return JSON.stringify(this);
        if (this.hasAllNullValues(true))
            return super.toString(Object.assign({}, ctx, { allNullValues: true }), onComment, onChompKeep);
        else
            throw new Error('Set items must all have null values');
    }
    static from(schema, iterable, ctx) {
        const { replacer } = ctx;
        const set = new this(schema);
        if (iterable && Symbol.iterator in Object(iterable))
            for (let value of iterable) {
                if (typeof replacer === 'function')
                    value = replacer.call(iterable, value, value);
                set.items.push(Pair.createPair(value, null, ctx));
            }
        return set;
    }
}
YAMLSet.tag = 'tag:yaml.org,2002:set';
const set = {
    collection: 'map',
    identify: value => value instanceof Set,
    nodeClass: YAMLSet,
    default: false,
    tag: 'tag:yaml.org,2002:set',
    createNode: (schema, iterable, ctx) => YAMLSet.from(schema, iterable, ctx),
    resolve(map, onError) {
        if (identity.isMap(map)) {
            if (map.hasAllNullValues(true))
                return Object.assign(new YAMLSet(), map);
            else
                onError('Set items must all have null values');
        }
        else
            onError('Expected a mapping for this tag');
        return map;
    }
};

exports.YAMLSet = YAMLSet;
exports.set = set;


/***/ }),

/***/ 6752:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var stringifyNumber = __nccwpck_require__(8689);

/** Internal types handle bigint as number, because TS can't figure it out. */
function parseSexagesimal(str, asBigInt) {
    const sign = str[0];
    const parts = sign === '-' || sign === '+' ? str.substring(1) : str;
    const num = (n) => asBigInt ? BigInt(n) : Number(n);
    const res = parts
        .replace(/_/g, '')
        .split(':')
        .reduce((res, p) => res * num(60) + num(p), num(0));
    return (sign === '-' ? num(-1) * res : res);
}
/**
 * hhhh:mm:ss.sss
 *
 * Internal types handle bigint as number, because TS can't figure it out.
 */
function stringifySexagesimal(node) {
    let { value } = node;
    let num = (n) => n;
    if (typeof value === 'bigint')
        num = n => BigInt(n);
    else if (isNaN(value) || !isFinite(value))
        return stringifyNumber.stringifyNumber(node);
    let sign = '';
    if (value < 0) {
        sign = '-';
        value *= num(-1);
    }
    const _60 = num(60);
    const parts = [value % _60]; // seconds, including ms
    if (value < 60) {
        parts.unshift(0); // at least one : is required
    }
    else {
        value = (value - parts[0]) / _60;
        parts.unshift(value % _60); // minutes
        if (value >= 60) {
            value = (value - parts[0]) / _60;
            parts.unshift(value); // hours
        }
    }
    return (sign +
        parts
            .map(n => String(n).padStart(2, '0'))
            .join(':')
            .replace(/000000\d*$/, '') // % 60 may introduce error
    );
}
const intTime = {
    identify: value => typeof value === 'bigint' || Number.isInteger(value),
    default: true,
    tag: 'tag:yaml.org,2002:int',
    format: 'TIME',
    test: /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+$/,
    resolve: (str, _onError, { intAsBigInt }) => parseSexagesimal(str, intAsBigInt),
    stringify: stringifySexagesimal
};
const floatTime = {
    identify: value => typeof value === 'number',
    default: true,
    tag: 'tag:yaml.org,2002:float',
    format: 'TIME',
    test: /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$/,
    resolve: str => parseSexagesimal(str, false),
    stringify: stringifySexagesimal
};
const timestamp = {
    identify: value => value instanceof Date,
    default: true,
    tag: 'tag:yaml.org,2002:timestamp',
    // If the time zone is omitted, the timestamp is assumed to be specified in UTC. The time part
    // may be omitted altogether, resulting in a date format. In such a case, the time part is
    // assumed to be 00:00:00Z (start of day, UTC).
    test: RegExp('^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})' + // YYYY-Mm-Dd
        '(?:' + // time is optional
        '(?:t|T|[ \\t]+)' + // t | T | whitespace
        '([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2}(\\.[0-9]+)?)' + // Hh:Mm:Ss(.ss)?
        '(?:[ \\t]*(Z|[-+][012]?[0-9](?::[0-9]{2})?))?' + // Z | +5 | -03:30
        ')?$'),
    resolve(str) {
        const match = str.match(timestamp.test);
        if (!match)
            throw new Error('!!timestamp expects a date, starting with yyyy-mm-dd');
        const [, year, month, day, hour, minute, second] = match.map(Number);
        const millisec = match[7] ? Number((match[7] + '00').substr(1, 3)) : 0;
        let date = Date.UTC(year, month - 1, day, hour || 0, minute || 0, second || 0, millisec);
        const tz = match[8];
        if (tz && tz !== 'Z') {
            let d = parseSexagesimal(tz, false);
            if (Math.abs(d) < 30)
                d *= 60;
            date -= 60000 * d;
        }
        return new Date(date);
    },
    stringify: ({ value }) => value?.toISOString().replace(/(T00:00:00)?\.000Z$/, '') ?? ''
};

exports.floatTime = floatTime;
exports.intTime = intTime;
exports.timestamp = timestamp;


/***/ }),

/***/ 4475:
/***/ ((__unused_webpack_module, exports) => {



const FOLD_FLOW = 'flow';
const FOLD_BLOCK = 'block';
const FOLD_QUOTED = 'quoted';
/**
 * Tries to keep input at up to `lineWidth` characters, splitting only on spaces
 * not followed by newlines or spaces unless `mode` is `'quoted'`. Lines are
 * terminated with `\n` and started with `indent`.
 */
function foldFlowLines(text, indent, mode = 'flow', { indentAtStart, lineWidth = 80, minContentWidth = 20, onFold, onOverflow } = {}) {
    if (!lineWidth || lineWidth < 0)
        return text;
    if (lineWidth < minContentWidth)
        minContentWidth = 0;
    const endStep = Math.max(1 + minContentWidth, 1 + lineWidth - indent.length);
    if (text.length <= endStep)
        return text;
    const folds = [];
    const escapedFolds = {};
    let end = lineWidth - indent.length;
    if (typeof indentAtStart === 'number') {
        if (indentAtStart > lineWidth - Math.max(2, minContentWidth))
            folds.push(0);
        else
            end = lineWidth - indentAtStart;
    }
    let split = undefined;
    let prev = undefined;
    let overflow = false;
    let i = -1;
    let escStart = -1;
    let escEnd = -1;
    if (mode === FOLD_BLOCK) {
        i = consumeMoreIndentedLines(text, i, indent.length);
        if (i !== -1)
            end = i + endStep;
    }
    for (let ch; (ch = text[(i += 1)]);) {
        if (mode === FOLD_QUOTED && ch === '\\') {
            escStart = i;
            switch (text[i + 1]) {
                case 'x':
                    i += 3;
                    break;
                case 'u':
                    i += 5;
                    break;
                case 'U':
                    i += 9;
                    break;
                default:
                    i += 1;
            }
            escEnd = i;
        }
        if (ch === '\n') {
            if (mode === FOLD_BLOCK)
                i = consumeMoreIndentedLines(text, i, indent.length);
            end = i + indent.length + endStep;
            split = undefined;
        }
        else {
            if (ch === ' ' &&
                prev &&
                prev !== ' ' &&
                prev !== '\n' &&
                prev !== '\t') {
                // space surrounded by non-space can be replaced with newline + indent
                const next = text[i + 1];
                if (next && next !== ' ' && next !== '\n' && next !== '\t')
                    split = i;
            }
            if (i >= end) {
                if (split) {
                    folds.push(split);
                    end = split + endStep;
                    split = undefined;
                }
                else if (mode === FOLD_QUOTED) {
                    // white-space collected at end may stretch past lineWidth
                    while (prev === ' ' || prev === '\t') {
                        prev = ch;
                        ch = text[(i += 1)];
                        overflow = true;
                    }
                    // Account for newline escape, but don't break preceding escape
                    const j = i > escEnd + 1 ? i - 2 : escStart - 1;
                    // Bail out if lineWidth & minContentWidth are shorter than an escape string
                    if (escapedFolds[j])
                        return text;
                    folds.push(j);
                    escapedFolds[j] = true;
                    end = j + endStep;
                    split = undefined;
                }
                else {
                    overflow = true;
                }
            }
        }
        prev = ch;
    }
    if (overflow && onOverflow)
        onOverflow();
    if (folds.length === 0)
        return text;
    if (onFold)
        onFold();
    let res = text.slice(0, folds[0]);
    for (let i = 0; i < folds.length; ++i) {
        const fold = folds[i];
        const end = folds[i + 1] || text.length;
        if (fold === 0)
            res = `\n${indent}${text.slice(0, end)}`;
        else {
            if (mode === FOLD_QUOTED && escapedFolds[fold])
                res += `${text[fold]}\\`;
            res += `\n${indent}${text.slice(fold + 1, end)}`;
        }
    }
    return res;
}
/**
 * Presumes `i + 1` is at the start of a line
 * @returns index of last newline in more-indented block
 */
function consumeMoreIndentedLines(text, i, indent) {
    let end = i;
    let start = i + 1;
    let ch = text[start];
    while (ch === ' ' || ch === '\t') {
        if (i < start + indent) {
            ch = text[++i];
        }
        else {
            do {
                ch = text[++i];
            } while (ch && ch !== '\n');
            end = i;
            start = i + 1;
            ch = text[start];
        }
    }
    return end;
}

exports.FOLD_BLOCK = FOLD_BLOCK;
exports.FOLD_FLOW = FOLD_FLOW;
exports.FOLD_QUOTED = FOLD_QUOTED;
exports.foldFlowLines = foldFlowLines;


/***/ }),

/***/ 2148:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var anchors = __nccwpck_require__(1596);
var identity = __nccwpck_require__(1127);
var stringifyComment = __nccwpck_require__(9799);
var stringifyString = __nccwpck_require__(3069);

function createStringifyContext(doc, options) {
    const opt = Object.assign({
        blockQuote: true,
        commentString: stringifyComment.stringifyComment,
        defaultKeyType: null,
        defaultStringType: 'PLAIN',
        directives: null,
        doubleQuotedAsJSON: false,
        doubleQuotedMinMultiLineLength: 40,
        falseStr: 'false',
        flowCollectionPadding: true,
        indentSeq: true,
        lineWidth: 80,
        minContentWidth: 20,
        nullStr: 'null',
        simpleKeys: false,
        singleQuote: null,
        trailingComma: false,
        trueStr: 'true',
        verifyAliasOrder: true
    }, doc.schema.toStringOptions, options);
    let inFlow;
    switch (opt.collectionStyle) {
        case 'block':
            inFlow = false;
            break;
        case 'flow':
            inFlow = true;
            break;
        default:
            inFlow = null;
    }
    return {
        anchors: new Set(),
        doc,
        flowCollectionPadding: opt.flowCollectionPadding ? ' ' : '',
        indent: '',
        indentStep: typeof opt.indent === 'number' ? ' '.repeat(opt.indent) : '  ',
        inFlow,
        options: opt
    };
}
function getTagObject(tags, item) {
    if (item.tag) {
        const match = tags.filter(t => t.tag === item.tag);
        if (match.length > 0)
            return match.find(t => t.format === item.format) ?? match[0];
    }
    let tagObj = undefined;
    let obj;
    if (identity.isScalar(item)) {
        obj = item.value;
        let match = tags.filter(t => t.identify?.(obj));
        if (match.length > 1) {
            const testMatch = match.filter(t => t.test);
            if (testMatch.length > 0)
                match = testMatch;
        }
        tagObj =
            match.find(t => t.format === item.format) ?? match.find(t => !t.format);
    }
    else {
        obj = item;
        tagObj = tags.find(t => t.nodeClass && obj instanceof t.nodeClass);
    }
    if (!tagObj) {
        const name = obj?.constructor?.name ?? (obj === null ? 'null' : typeof obj);
        throw new Error(`Tag not resolved for ${name} value`);
    }
    return tagObj;
}
// needs to be called before value stringifier to allow for circular anchor refs
function stringifyProps(node, tagObj, { anchors: anchors$1, doc }) {
    if (!doc.directives)
        return '';
    const props = [];
    const anchor = (identity.isScalar(node) || identity.isCollection(node)) && node.anchor;
    if (anchor && anchors.anchorIsValid(anchor)) {
        anchors$1.add(anchor);
        props.push(`&${anchor}`);
    }
    const tag = node.tag ?? (tagObj.default ? null : tagObj.tag);
    if (tag)
        props.push(doc.directives.tagString(tag));
    return props.join(' ');
}
function stringify(item, ctx, onComment, onChompKeep) {
    if (identity.isPair(item))
        return item.toString(ctx, onComment, onChompKeep);
    if (identity.isAlias(item)) {
        if (ctx.doc.directives)
            return item.toString(ctx);
        if (ctx.resolvedAliases?.has(item)) {
            throw new TypeError(`Cannot stringify circular structure without alias nodes`);
        }
        else {
            if (ctx.resolvedAliases)
                ctx.resolvedAliases.add(item);
            else
                ctx.resolvedAliases = new Set([item]);
            item = item.resolve(ctx.doc);
        }
    }
    let tagObj = undefined;
    const node = identity.isNode(item)
        ? item
        : ctx.doc.createNode(item, { onTagObj: o => (tagObj = o) });
    tagObj ?? (tagObj = getTagObject(ctx.doc.schema.tags, node));
    const props = stringifyProps(node, tagObj, ctx);
    if (props.length > 0)
        ctx.indentAtStart = (ctx.indentAtStart ?? 0) + props.length + 1;
    const str = typeof tagObj.stringify === 'function'
        ? tagObj.stringify(node, ctx, onComment, onChompKeep)
        : identity.isScalar(node)
            ? stringifyString.stringifyString(node, ctx, onComment, onChompKeep)
            : node.toString(ctx, onComment, onChompKeep);
    if (!props)
        return str;
    return identity.isScalar(node) || str[0] === '{' || str[0] === '['
        ? `${props} ${str}`
        : `${props}\n${ctx.indent}${str}`;
}

exports.createStringifyContext = createStringifyContext;
exports.stringify = stringify;


/***/ }),

/***/ 1212:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var stringify = __nccwpck_require__(2148);
var stringifyComment = __nccwpck_require__(9799);

function stringifyCollection(collection, ctx, options) {
    const flow = ctx.inFlow ?? collection.flow;
    const stringify = flow ? stringifyFlowCollection : stringifyBlockCollection;
    return stringify(collection, ctx, options);
}
function stringifyBlockCollection({ comment, items }, ctx, { blockItemPrefix, flowChars, itemIndent, onChompKeep, onComment }) {
    const { indent, options: { commentString } } = ctx;
    const itemCtx = Object.assign({}, ctx, { indent: itemIndent, type: null });
    let chompKeep = false; // flag for the preceding node's status
    const lines = [];
    for (let i = 0; i < items.length; ++i) {
        const item = items[i];
        let comment = null;
        if (identity.isNode(item)) {
            if (!chompKeep && item.spaceBefore)
                lines.push('');
            addCommentBefore(ctx, lines, item.commentBefore, chompKeep);
            if (item.comment)
                comment = item.comment;
        }
        else if (identity.isPair(item)) {
            const ik = identity.isNode(item.key) ? item.key : null;
            if (ik) {
                if (!chompKeep && ik.spaceBefore)
                    lines.push('');
                addCommentBefore(ctx, lines, ik.commentBefore, chompKeep);
            }
        }
        chompKeep = false;
        let str = stringify.stringify(item, itemCtx, () => (comment = null), () => (chompKeep = true));
        if (comment)
            str += stringifyComment.lineComment(str, itemIndent, commentString(comment));
        if (chompKeep && comment)
            chompKeep = false;
        lines.push(blockItemPrefix + str);
    }
    let str;
    if (lines.length === 0) {
        str = flowChars.start + flowChars.end;
    }
    else {
        str = lines[0];
        for (let i = 1; i < lines.length; ++i) {
            const line = lines[i];
            str += line ? `\n${indent}${line}` : '\n';
        }
    }
    if (comment) {
        str += '\n' + stringifyComment.indentComment(commentString(comment), indent);
        if (onComment)
            onComment();
    }
    else if (chompKeep && onChompKeep)
        onChompKeep();
    return str;
}
function stringifyFlowCollection({ items }, ctx, { flowChars, itemIndent }) {
    const { indent, indentStep, flowCollectionPadding: fcPadding, options: { commentString } } = ctx;
    itemIndent += indentStep;
    const itemCtx = Object.assign({}, ctx, {
        indent: itemIndent,
        inFlow: true,
        type: null
    });
    let reqNewline = false;
    let linesAtValue = 0;
    const lines = [];
    for (let i = 0; i < items.length; ++i) {
        const item = items[i];
        let comment = null;
        if (identity.isNode(item)) {
            if (item.spaceBefore)
                lines.push('');
            addCommentBefore(ctx, lines, item.commentBefore, false);
            if (item.comment)
                comment = item.comment;
        }
        else if (identity.isPair(item)) {
            const ik = identity.isNode(item.key) ? item.key : null;
            if (ik) {
                if (ik.spaceBefore)
                    lines.push('');
                addCommentBefore(ctx, lines, ik.commentBefore, false);
                if (ik.comment)
                    reqNewline = true;
            }
            const iv = identity.isNode(item.value) ? item.value : null;
            if (iv) {
                if (iv.comment)
                    comment = iv.comment;
                if (iv.commentBefore)
                    reqNewline = true;
            }
            else if (item.value == null && ik?.comment) {
                comment = ik.comment;
            }
        }
        if (comment)
            reqNewline = true;
        let str = stringify.stringify(item, itemCtx, () => (comment = null));
        reqNewline || (reqNewline = lines.length > linesAtValue || str.includes('\n'));
        if (i < items.length - 1) {
            str += ',';
        }
        else if (ctx.options.trailingComma) {
            if (ctx.options.lineWidth > 0) {
                reqNewline || (reqNewline = lines.reduce((sum, line) => sum + line.length + 2, 2) +
                    (str.length + 2) >
                    ctx.options.lineWidth);
            }
            if (reqNewline) {
                str += ',';
            }
        }
        if (comment)
            str += stringifyComment.lineComment(str, itemIndent, commentString(comment));
        lines.push(str);
        linesAtValue = lines.length;
    }
    const { start, end } = flowChars;
    if (lines.length === 0) {
        return start + end;
    }
    else {
        if (!reqNewline) {
            const len = lines.reduce((sum, line) => sum + line.length + 2, 2);
            reqNewline = ctx.options.lineWidth > 0 && len > ctx.options.lineWidth;
        }
        if (reqNewline) {
            let str = start;
            for (const line of lines)
                str += line ? `\n${indentStep}${indent}${line}` : '\n';
            return `${str}\n${indent}${end}`;
        }
        else {
            return `${start}${fcPadding}${lines.join(' ')}${fcPadding}${end}`;
        }
    }
}
function addCommentBefore({ indent, options: { commentString } }, lines, comment, chompKeep) {
    if (comment && chompKeep)
        comment = comment.replace(/^\n+/, '');
    if (comment) {
        const ic = stringifyComment.indentComment(commentString(comment), indent);
        lines.push(ic.trimStart()); // Avoid double indent on first line
    }
}

exports.stringifyCollection = stringifyCollection;


/***/ }),

/***/ 9799:
/***/ ((__unused_webpack_module, exports) => {



/**
 * Stringifies a comment.
 *
 * Empty comment lines are left empty,
 * lines consisting of a single space are replaced by `#`,
 * and all other lines are prefixed with a `#`.
 */
const stringifyComment = (str) => str.replace(/^(?!$)(?: $)?/gm, '#');
function indentComment(comment, indent) {
    if (/^\n+$/.test(comment))
        return comment.substring(1);
    return indent ? comment.replace(/^(?! *$)/gm, indent) : comment;
}
const lineComment = (str, indent, comment) => str.endsWith('\n')
    ? indentComment(comment, indent)
    : comment.includes('\n')
        ? '\n' + indentComment(comment, indent)
        : (str.endsWith(' ') ? '' : ' ') + comment;

exports.indentComment = indentComment;
exports.lineComment = lineComment;
exports.stringifyComment = stringifyComment;


/***/ }),

/***/ 6829:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var stringify = __nccwpck_require__(2148);
var stringifyComment = __nccwpck_require__(9799);

function stringifyDocument(doc, options) {
    const lines = [];
    let hasDirectives = options.directives === true;
    if (options.directives !== false && doc.directives) {
        const dir = doc.directives.toString(doc);
        if (dir) {
            lines.push(dir);
            hasDirectives = true;
        }
        else if (doc.directives.docStart)
            hasDirectives = true;
    }
    if (hasDirectives)
        lines.push('---');
    const ctx = stringify.createStringifyContext(doc, options);
    const { commentString } = ctx.options;
    if (doc.commentBefore) {
        if (lines.length !== 1)
            lines.unshift('');
        const cs = commentString(doc.commentBefore);
        lines.unshift(stringifyComment.indentComment(cs, ''));
    }
    let chompKeep = false;
    let contentComment = null;
    if (doc.contents) {
        if (identity.isNode(doc.contents)) {
            if (doc.contents.spaceBefore && hasDirectives)
                lines.push('');
            if (doc.contents.commentBefore) {
                const cs = commentString(doc.contents.commentBefore);
                lines.push(stringifyComment.indentComment(cs, ''));
            }
            // top-level block scalars need to be indented if followed by a comment
            ctx.forceBlockIndent = !!doc.comment;
            contentComment = doc.contents.comment;
        }
        const onChompKeep = contentComment ? undefined : () => (chompKeep = true);
        let body = stringify.stringify(doc.contents, ctx, () => (contentComment = null), onChompKeep);
        if (contentComment)
            body += stringifyComment.lineComment(body, '', commentString(contentComment));
        if ((body[0] === '|' || body[0] === '>') &&
            lines[lines.length - 1] === '---') {
            // Top-level block scalars with a preceding doc marker ought to use the
            // same line for their header.
            lines[lines.length - 1] = `--- ${body}`;
        }
        else
            lines.push(body);
    }
    else {
        lines.push(stringify.stringify(doc.contents, ctx));
    }
    if (doc.directives?.docEnd) {
        if (doc.comment) {
            const cs = commentString(doc.comment);
            if (cs.includes('\n')) {
                lines.push('...');
                lines.push(stringifyComment.indentComment(cs, ''));
            }
            else {
                lines.push(`... ${cs}`);
            }
        }
        else {
            lines.push('...');
        }
    }
    else {
        let dc = doc.comment;
        if (dc && chompKeep)
            dc = dc.replace(/^\n+/, '');
        if (dc) {
            if ((!chompKeep || contentComment) && lines[lines.length - 1] !== '')
                lines.push('');
            lines.push(stringifyComment.indentComment(commentString(dc), ''));
        }
    }
    return lines.join('\n') + '\n';
}

exports.stringifyDocument = stringifyDocument;


/***/ }),

/***/ 8689:
/***/ ((__unused_webpack_module, exports) => {



function stringifyNumber({ format, minFractionDigits, tag, value }) {
    if (typeof value === 'bigint')
        return String(value);
    const num = typeof value === 'number' ? value : Number(value);
    if (!isFinite(num))
        return isNaN(num) ? '.nan' : num < 0 ? '-.inf' : '.inf';
    let n = Object.is(value, -0) ? '-0' : JSON.stringify(value);
    if (!format &&
        minFractionDigits &&
        (!tag || tag === 'tag:yaml.org,2002:float') &&
        /^-?\d/.test(n) &&
        !n.includes('e')) {
        let i = n.indexOf('.');
        if (i < 0) {
            i = n.length;
            n += '.';
        }
        let d = minFractionDigits - (n.length - i - 1);
        while (d-- > 0)
            n += '0';
    }
    return n;
}

exports.stringifyNumber = stringifyNumber;


/***/ }),

/***/ 9748:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);
var Scalar = __nccwpck_require__(3301);
var stringify = __nccwpck_require__(2148);
var stringifyComment = __nccwpck_require__(9799);

function stringifyPair({ key, value }, ctx, onComment, onChompKeep) {
    const { allNullValues, doc, indent, indentStep, options: { commentString, indentSeq, simpleKeys } } = ctx;
    let keyComment = (identity.isNode(key) && key.comment) || null;
    if (simpleKeys) {
        if (keyComment) {
            throw new Error('With simple keys, key nodes cannot have comments');
        }
        if (identity.isCollection(key) || (!identity.isNode(key) && typeof key === 'object')) {
            const msg = 'With simple keys, collection cannot be used as a key value';
            throw new Error(msg);
        }
    }
    let explicitKey = !simpleKeys &&
        (!key ||
            (keyComment && value == null && !ctx.inFlow) ||
            identity.isCollection(key) ||
            (identity.isScalar(key)
                ? key.type === Scalar.Scalar.BLOCK_FOLDED || key.type === Scalar.Scalar.BLOCK_LITERAL
                : typeof key === 'object'));
    ctx = Object.assign({}, ctx, {
        allNullValues: false,
        implicitKey: !explicitKey && (simpleKeys || !allNullValues),
        indent: indent + indentStep
    });
    let keyCommentDone = false;
    let chompKeep = false;
    let str = stringify.stringify(key, ctx, () => (keyCommentDone = true), () => (chompKeep = true));
    if (!explicitKey && !ctx.inFlow && str.length > 1024) {
        if (simpleKeys)
            throw new Error('With simple keys, single line scalar must not span more than 1024 characters');
        explicitKey = true;
    }
    if (ctx.inFlow) {
        if (allNullValues || value == null) {
            if (keyCommentDone && onComment)
                onComment();
            return str === '' ? '?' : explicitKey ? `? ${str}` : str;
        }
    }
    else if ((allNullValues && !simpleKeys) || (value == null && explicitKey)) {
        str = `? ${str}`;
        if (keyComment && !keyCommentDone) {
            str += stringifyComment.lineComment(str, ctx.indent, commentString(keyComment));
        }
        else if (chompKeep && onChompKeep)
            onChompKeep();
        return str;
    }
    if (keyCommentDone)
        keyComment = null;
    if (explicitKey) {
        if (keyComment)
            str += stringifyComment.lineComment(str, ctx.indent, commentString(keyComment));
        str = `? ${str}\n${indent}:`;
    }
    else {
        str = `${str}:`;
        if (keyComment)
            str += stringifyComment.lineComment(str, ctx.indent, commentString(keyComment));
    }
    let vsb, vcb, valueComment;
    if (identity.isNode(value)) {
        vsb = !!value.spaceBefore;
        vcb = value.commentBefore;
        valueComment = value.comment;
    }
    else {
        vsb = false;
        vcb = null;
        valueComment = null;
        if (value && typeof value === 'object')
            value = doc.createNode(value);
    }
    ctx.implicitKey = false;
    if (!explicitKey && !keyComment && identity.isScalar(value))
        ctx.indentAtStart = str.length + 1;
    chompKeep = false;
    if (!indentSeq &&
        indentStep.length >= 2 &&
        !ctx.inFlow &&
        !explicitKey &&
        identity.isSeq(value) &&
        !value.flow &&
        !value.tag &&
        !value.anchor) {
        // If indentSeq === false, consider '- ' as part of indentation where possible
        ctx.indent = ctx.indent.substring(2);
    }
    let valueCommentDone = false;
    const valueStr = stringify.stringify(value, ctx, () => (valueCommentDone = true), () => (chompKeep = true));
    let ws = ' ';
    if (keyComment || vsb || vcb) {
        ws = vsb ? '\n' : '';
        if (vcb) {
            const cs = commentString(vcb);
            ws += `\n${stringifyComment.indentComment(cs, ctx.indent)}`;
        }
        if (valueStr === '' && !ctx.inFlow) {
            if (ws === '\n' && valueComment)
                ws = '\n\n';
        }
        else {
            ws += `\n${ctx.indent}`;
        }
    }
    else if (!explicitKey && identity.isCollection(value)) {
        const vs0 = valueStr[0];
        const nl0 = valueStr.indexOf('\n');
        const hasNewline = nl0 !== -1;
        const flow = ctx.inFlow ?? value.flow ?? value.items.length === 0;
        if (hasNewline || !flow) {
            let hasPropsLine = false;
            if (hasNewline && (vs0 === '&' || vs0 === '!')) {
                let sp0 = valueStr.indexOf(' ');
                if (vs0 === '&' &&
                    sp0 !== -1 &&
                    sp0 < nl0 &&
                    valueStr[sp0 + 1] === '!') {
                    sp0 = valueStr.indexOf(' ', sp0 + 1);
                }
                if (sp0 === -1 || nl0 < sp0)
                    hasPropsLine = true;
            }
            if (!hasPropsLine)
                ws = `\n${ctx.indent}`;
        }
    }
    else if (valueStr === '' || valueStr[0] === '\n') {
        ws = '';
    }
    str += ws + valueStr;
    if (ctx.inFlow) {
        if (valueCommentDone && onComment)
            onComment();
    }
    else if (valueComment && !valueCommentDone) {
        str += stringifyComment.lineComment(str, ctx.indent, commentString(valueComment));
    }
    else if (chompKeep && onChompKeep) {
        onChompKeep();
    }
    return str;
}

exports.stringifyPair = stringifyPair;


/***/ }),

/***/ 3069:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var Scalar = __nccwpck_require__(3301);
var foldFlowLines = __nccwpck_require__(4475);

const getFoldOptions = (ctx, isBlock) => ({
    indentAtStart: isBlock ? ctx.indent.length : ctx.indentAtStart,
    lineWidth: ctx.options.lineWidth,
    minContentWidth: ctx.options.minContentWidth
});
// Also checks for lines starting with %, as parsing the output as YAML 1.1 will
// presume that's starting a new document.
const containsDocumentMarker = (str) => /^(%|---|\.\.\.)/m.test(str);
function lineLengthOverLimit(str, lineWidth, indentLength) {
    if (!lineWidth || lineWidth < 0)
        return false;
    const limit = lineWidth - indentLength;
    const strLen = str.length;
    if (strLen <= limit)
        return false;
    for (let i = 0, start = 0; i < strLen; ++i) {
        if (str[i] === '\n') {
            if (i - start > limit)
                return true;
            start = i + 1;
            if (strLen - start <= limit)
                return false;
        }
    }
    return true;
}
function doubleQuotedString(value, ctx) {
    const json = JSON.stringify(value);
    if (ctx.options.doubleQuotedAsJSON)
        return json;
    const { implicitKey } = ctx;
    const minMultiLineLength = ctx.options.doubleQuotedMinMultiLineLength;
    const indent = ctx.indent || (containsDocumentMarker(value) ? '  ' : '');
    let str = '';
    let start = 0;
    for (let i = 0, ch = json[i]; ch; ch = json[++i]) {
        if (ch === ' ' && json[i + 1] === '\\' && json[i + 2] === 'n') {
            // space before newline needs to be escaped to not be folded
            str += json.slice(start, i) + '\\ ';
            i += 1;
            start = i;
            ch = '\\';
        }
        if (ch === '\\')
            switch (json[i + 1]) {
                case 'u':
                    {
                        str += json.slice(start, i);
                        const code = json.substr(i + 2, 4);
                        switch (code) {
                            case '0000':
                                str += '\\0';
                                break;
                            case '0007':
                                str += '\\a';
                                break;
                            case '000b':
                                str += '\\v';
                                break;
                            case '001b':
                                str += '\\e';
                                break;
                            case '0085':
                                str += '\\N';
                                break;
                            case '00a0':
                                str += '\\_';
                                break;
                            case '2028':
                                str += '\\L';
                                break;
                            case '2029':
                                str += '\\P';
                                break;
                            default:
                                if (code.substr(0, 2) === '00')
                                    str += '\\x' + code.substr(2);
                                else
                                    str += json.substr(i, 6);
                        }
                        i += 5;
                        start = i + 1;
                    }
                    break;
                case 'n':
                    if (implicitKey ||
                        json[i + 2] === '"' ||
                        json.length < minMultiLineLength) {
                        i += 1;
                    }
                    else {
                        // folding will eat first newline
                        str += json.slice(start, i) + '\n\n';
                        while (json[i + 2] === '\\' &&
                            json[i + 3] === 'n' &&
                            json[i + 4] !== '"') {
                            str += '\n';
                            i += 2;
                        }
                        str += indent;
                        // space after newline needs to be escaped to not be folded
                        if (json[i + 2] === ' ')
                            str += '\\';
                        i += 1;
                        start = i + 1;
                    }
                    break;
                default:
                    i += 1;
            }
    }
    str = start ? str + json.slice(start) : json;
    return implicitKey
        ? str
        : foldFlowLines.foldFlowLines(str, indent, foldFlowLines.FOLD_QUOTED, getFoldOptions(ctx, false));
}
function singleQuotedString(value, ctx) {
    if (ctx.options.singleQuote === false ||
        (ctx.implicitKey && value.includes('\n')) ||
        /[ \t]\n|\n[ \t]/.test(value) // single quoted string can't have leading or trailing whitespace around newline
    )
        return doubleQuotedString(value, ctx);
    const indent = ctx.indent || (containsDocumentMarker(value) ? '  ' : '');
    const res = "'" + value.replace(/'/g, "''").replace(/\n+/g, `$&\n${indent}`) + "'";
    return ctx.implicitKey
        ? res
        : foldFlowLines.foldFlowLines(res, indent, foldFlowLines.FOLD_FLOW, getFoldOptions(ctx, false));
}
function quotedString(value, ctx) {
    const { singleQuote } = ctx.options;
    let qs;
    if (singleQuote === false)
        qs = doubleQuotedString;
    else {
        const hasDouble = value.includes('"');
        const hasSingle = value.includes("'");
        if (hasDouble && !hasSingle)
            qs = singleQuotedString;
        else if (hasSingle && !hasDouble)
            qs = doubleQuotedString;
        else
            qs = singleQuote ? singleQuotedString : doubleQuotedString;
    }
    return qs(value, ctx);
}
// The negative lookbehind avoids a polynomial search,
// but isn't supported yet on Safari: https://caniuse.com/js-regexp-lookbehind
let blockEndNewlines;
try {
    blockEndNewlines = new RegExp('(^|(?<!\n))\n+(?!\n|$)', 'g');
}
catch {
    blockEndNewlines = /\n+(?!\n|$)/g;
}
function blockString({ comment, type, value }, ctx, onComment, onChompKeep) {
    const { blockQuote, commentString, lineWidth } = ctx.options;
    // 1. Block can't end in whitespace unless the last line is non-empty.
    // 2. Strings consisting of only whitespace are best rendered explicitly.
    if (!blockQuote || /\n[\t ]+$/.test(value)) {
        return quotedString(value, ctx);
    }
    const indent = ctx.indent ||
        (ctx.forceBlockIndent || containsDocumentMarker(value) ? '  ' : '');
    const literal = blockQuote === 'literal'
        ? true
        : blockQuote === 'folded' || type === Scalar.Scalar.BLOCK_FOLDED
            ? false
            : type === Scalar.Scalar.BLOCK_LITERAL
                ? true
                : !lineLengthOverLimit(value, lineWidth, indent.length);
    if (!value)
        return literal ? '|\n' : '>\n';
    // determine chomping from whitespace at value end
    let chomp;
    let endStart;
    for (endStart = value.length; endStart > 0; --endStart) {
        const ch = value[endStart - 1];
        if (ch !== '\n' && ch !== '\t' && ch !== ' ')
            break;
    }
    let end = value.substring(endStart);
    const endNlPos = end.indexOf('\n');
    if (endNlPos === -1) {
        chomp = '-'; // strip
    }
    else if (value === end || endNlPos !== end.length - 1) {
        chomp = '+'; // keep
        if (onChompKeep)
            onChompKeep();
    }
    else {
        chomp = ''; // clip
    }
    if (end) {
        value = value.slice(0, -end.length);
        if (end[end.length - 1] === '\n')
            end = end.slice(0, -1);
        end = end.replace(blockEndNewlines, `$&${indent}`);
    }
    // determine indent indicator from whitespace at value start
    let startWithSpace = false;
    let startEnd;
    let startNlPos = -1;
    for (startEnd = 0; startEnd < value.length; ++startEnd) {
        const ch = value[startEnd];
        if (ch === ' ')
            startWithSpace = true;
        else if (ch === '\n')
            startNlPos = startEnd;
        else
            break;
    }
    let start = value.substring(0, startNlPos < startEnd ? startNlPos + 1 : startEnd);
    if (start) {
        value = value.substring(start.length);
        start = start.replace(/\n+/g, `$&${indent}`);
    }
    const indentSize = indent ? '2' : '1'; // root is at -1
    // Leading | or > is added later
    let header = (startWithSpace ? indentSize : '') + chomp;
    if (comment) {
        header += ' ' + commentString(comment.replace(/ ?[\r\n]+/g, ' '));
        if (onComment)
            onComment();
    }
    if (!literal) {
        const foldedValue = value
            .replace(/\n+/g, '\n$&')
            .replace(/(?:^|\n)([\t ].*)(?:([\n\t ]*)\n(?![\n\t ]))?/g, '$1$2') // more-indented lines aren't folded
            //                ^ more-ind. ^ empty     ^ capture next empty lines only at end of indent
            .replace(/\n+/g, `$&${indent}`);
        let literalFallback = false;
        const foldOptions = getFoldOptions(ctx, true);
        if (blockQuote !== 'folded' && type !== Scalar.Scalar.BLOCK_FOLDED) {
            foldOptions.onOverflow = () => {
                literalFallback = true;
            };
        }
        const body = foldFlowLines.foldFlowLines(`${start}${foldedValue}${end}`, indent, foldFlowLines.FOLD_BLOCK, foldOptions);
        if (!literalFallback)
            return `>${header}\n${indent}${body}`;
    }
    value = value.replace(/\n+/g, `$&${indent}`);
    return `|${header}\n${indent}${start}${value}${end}`;
}
function plainString(item, ctx, onComment, onChompKeep) {
    const { type, value } = item;
    const { actualString, implicitKey, indent, indentStep, inFlow } = ctx;
    if ((implicitKey && value.includes('\n')) ||
        (inFlow && /[[\]{},]/.test(value))) {
        return quotedString(value, ctx);
    }
    if (/^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/.test(value)) {
        // not allowed:
        // - '-' or '?'
        // - start with an indicator character (except [?:-]) or /[?-] /
        // - '\n ', ': ' or ' \n' anywhere
        // - '#' not preceded by a non-space char
        // - end with ' ' or ':'
        return implicitKey || inFlow || !value.includes('\n')
            ? quotedString(value, ctx)
            : blockString(item, ctx, onComment, onChompKeep);
    }
    if (!implicitKey &&
        !inFlow &&
        type !== Scalar.Scalar.PLAIN &&
        value.includes('\n')) {
        // Where allowed & type not set explicitly, prefer block style for multiline strings
        return blockString(item, ctx, onComment, onChompKeep);
    }
    if (containsDocumentMarker(value)) {
        if (indent === '') {
            ctx.forceBlockIndent = true;
            return blockString(item, ctx, onComment, onChompKeep);
        }
        else if (implicitKey && indent === indentStep) {
            return quotedString(value, ctx);
        }
    }
    const str = value.replace(/\n+/g, `$&\n${indent}`);
    // Verify that output will be parsed as a string, as e.g. plain numbers and
    // booleans get parsed with those types in v1.2 (e.g. '42', 'true' & '0.9e-3'),
    // and others in v1.1.
    if (actualString) {
        const test = (tag) => tag.default && tag.tag !== 'tag:yaml.org,2002:str' && tag.test?.test(str);
        const { compat, tags } = ctx.doc.schema;
        if (tags.some(test) || compat?.some(test))
            return quotedString(value, ctx);
    }
    return implicitKey
        ? str
        : foldFlowLines.foldFlowLines(str, indent, foldFlowLines.FOLD_FLOW, getFoldOptions(ctx, false));
}
function stringifyString(item, ctx, onComment, onChompKeep) {
    const { implicitKey, inFlow } = ctx;
    const ss = typeof item.value === 'string'
        ? item
        : Object.assign({}, item, { value: String(item.value) });
    let { type } = item;
    if (type !== Scalar.Scalar.QUOTE_DOUBLE) {
        // force double quotes on control characters & unpaired surrogates
        if (/[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u.test(ss.value))
            type = Scalar.Scalar.QUOTE_DOUBLE;
    }
    const _stringify = (_type) => {
        switch (_type) {
            case Scalar.Scalar.BLOCK_FOLDED:
            case Scalar.Scalar.BLOCK_LITERAL:
                return implicitKey || inFlow
                    ? quotedString(ss.value, ctx) // blocks are not valid inside flow containers
                    : blockString(ss, ctx, onComment, onChompKeep);
            case Scalar.Scalar.QUOTE_DOUBLE:
                return doubleQuotedString(ss.value, ctx);
            case Scalar.Scalar.QUOTE_SINGLE:
                return singleQuotedString(ss.value, ctx);
            case Scalar.Scalar.PLAIN:
                return plainString(ss, ctx, onComment, onChompKeep);
            default:
                return null;
        }
    };
    let res = _stringify(type);
    if (res === null) {
        const { defaultKeyType, defaultStringType } = ctx.options;
        const t = (implicitKey && defaultKeyType) || defaultStringType;
        res = _stringify(t);
        if (res === null)
            throw new Error(`Unsupported default string type ${t}`);
    }
    return res;
}

exports.stringifyString = stringifyString;


/***/ }),

/***/ 204:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {



var identity = __nccwpck_require__(1127);

const BREAK = Symbol('break visit');
const SKIP = Symbol('skip children');
const REMOVE = Symbol('remove node');
/**
 * Apply a visitor to an AST node or document.
 *
 * Walks through the tree (depth-first) starting from `node`, calling a
 * `visitor` function with three arguments:
 *   - `key`: For sequence values and map `Pair`, the node's index in the
 *     collection. Within a `Pair`, `'key'` or `'value'`, correspondingly.
 *     `null` for the root node.
 *   - `node`: The current node.
 *   - `path`: The ancestry of the current node.
 *
 * The return value of the visitor may be used to control the traversal:
 *   - `undefined` (default): Do nothing and continue
 *   - `visit.SKIP`: Do not visit the children of this node, continue with next
 *     sibling
 *   - `visit.BREAK`: Terminate traversal completely
 *   - `visit.REMOVE`: Remove the current node, then continue with the next one
 *   - `Node`: Replace the current node, then continue by visiting it
 *   - `number`: While iterating the items of a sequence or map, set the index
 *     of the next step. This is useful especially if the index of the current
 *     node has changed.
 *
 * If `visitor` is a single function, it will be called with all values
 * encountered in the tree, including e.g. `null` values. Alternatively,
 * separate visitor functions may be defined for each `Map`, `Pair`, `Seq`,
 * `Alias` and `Scalar` node. To define the same visitor function for more than
 * one node type, use the `Collection` (map and seq), `Value` (map, seq & scalar)
 * and `Node` (alias, map, seq & scalar) targets. Of all these, only the most
 * specific defined one will be used for each node.
 */
function visit(node, visitor) {
    const visitor_ = initVisitor(visitor);
    if (identity.isDocument(node)) {
        const cd = visit_(null, node.contents, visitor_, Object.freeze([node]));
        if (cd === REMOVE)
            node.contents = null;
    }
    else
        visit_(null, node, visitor_, Object.freeze([]));
}
// Without the `as symbol` casts, TS declares these in the `visit`
// namespace using `var`, but then complains about that because
// `unique symbol` must be `const`.
/** Terminate visit traversal completely */
visit.BREAK = BREAK;
/** Do not visit the children of the current node */
visit.SKIP = SKIP;
/** Remove the current node */
visit.REMOVE = REMOVE;
function visit_(key, node, visitor, path) {
    const ctrl = callVisitor(key, node, visitor, path);
    if (identity.isNode(ctrl) || identity.isPair(ctrl)) {
        replaceNode(key, path, ctrl);
        return visit_(key, ctrl, visitor, path);
    }
    if (typeof ctrl !== 'symbol') {
        if (identity.isCollection(node)) {
            path = Object.freeze(path.concat(node));
            for (let i = 0; i < node.items.length; ++i) {
                const ci = visit_(i, node.items[i], visitor, path);
                if (typeof ci === 'number')
                    i = ci - 1;
                else if (ci === BREAK)
                    return BREAK;
                else if (ci === REMOVE) {
                    node.items.splice(i, 1);
                    i -= 1;
                }
            }
        }
        else if (identity.isPair(node)) {
            path = Object.freeze(path.concat(node));
            const ck = visit_('key', node.key, visitor, path);
            if (ck === BREAK)
                return BREAK;
            else if (ck === REMOVE)
                node.key = null;
            const cv = visit_('value', node.value, visitor, path);
            if (cv === BREAK)
                return BREAK;
            else if (cv === REMOVE)
                node.value = null;
        }
    }
    return ctrl;
}
/**
 * Apply an async visitor to an AST node or document.
 *
 * Walks through the tree (depth-first) starting from `node`, calling a
 * `visitor` function with three arguments:
 *   - `key`: For sequence values and map `Pair`, the node's index in the
 *     collection. Within a `Pair`, `'key'` or `'value'`, correspondingly.
 *     `null` for the root node.
 *   - `node`: The current node.
 *   - `path`: The ancestry of the current node.
 *
 * The return value of the visitor may be used to control the traversal:
 *   - `Promise`: Must resolve to one of the following values
 *   - `undefined` (default): Do nothing and continue
 *   - `visit.SKIP`: Do not visit the children of this node, continue with next
 *     sibling
 *   - `visit.BREAK`: Terminate traversal completely
 *   - `visit.REMOVE`: Remove the current node, then continue with the next one
 *   - `Node`: Replace the current node, then continue by visiting it
 *   - `number`: While iterating the items of a sequence or map, set the index
 *     of the next step. This is useful especially if the index of the current
 *     node has changed.
 *
 * If `visitor` is a single function, it will be called with all values
 * encountered in the tree, including e.g. `null` values. Alternatively,
 * separate visitor functions may be defined for each `Map`, `Pair`, `Seq`,
 * `Alias` and `Scalar` node. To define the same visitor function for more than
 * one node type, use the `Collection` (map and seq), `Value` (map, seq & scalar)
 * and `Node` (alias, map, seq & scalar) targets. Of all these, only the most
 * specific defined one will be used for each node.
 */
async function visitAsync(node, visitor) {
    const visitor_ = initVisitor(visitor);
    if (identity.isDocument(node)) {
        const cd = await visitAsync_(null, node.contents, visitor_, Object.freeze([node]));
        if (cd === REMOVE)
            node.contents = null;
    }
    else
        await visitAsync_(null, node, visitor_, Object.freeze([]));
}
// Without the `as symbol` casts, TS declares these in the `visit`
// namespace using `var`, but then complains about that because
// `unique symbol` must be `const`.
/** Terminate visit traversal completely */
visitAsync.BREAK = BREAK;
/** Do not visit the children of the current node */
visitAsync.SKIP = SKIP;
/** Remove the current node */
visitAsync.REMOVE = REMOVE;
async function visitAsync_(key, node, visitor, path) {
    const ctrl = await callVisitor(key, node, visitor, path);
    if (identity.isNode(ctrl) || identity.isPair(ctrl)) {
        replaceNode(key, path, ctrl);
        return visitAsync_(key, ctrl, visitor, path);
    }
    if (typeof ctrl !== 'symbol') {
        if (identity.isCollection(node)) {
            path = Object.freeze(path.concat(node));
            for (let i = 0; i < node.items.length; ++i) {
                const ci = await visitAsync_(i, node.items[i], visitor, path);
                if (typeof ci === 'number')
                    i = ci - 1;
                else if (ci === BREAK)
                    return BREAK;
                else if (ci === REMOVE) {
                    node.items.splice(i, 1);
                    i -= 1;
                }
            }
        }
        else if (identity.isPair(node)) {
            path = Object.freeze(path.concat(node));
            const ck = await visitAsync_('key', node.key, visitor, path);
            if (ck === BREAK)
                return BREAK;
            else if (ck === REMOVE)
                node.key = null;
            const cv = await visitAsync_('value', node.value, visitor, path);
            if (cv === BREAK)
                return BREAK;
            else if (cv === REMOVE)
                node.value = null;
        }
    }
    return ctrl;
}
function initVisitor(visitor) {
    if (typeof visitor === 'object' &&
        (visitor.Collection || visitor.Node || visitor.Value)) {
        return Object.assign({
            Alias: visitor.Node,
            Map: visitor.Node,
            Scalar: visitor.Node,
            Seq: visitor.Node
        }, visitor.Value && {
            Map: visitor.Value,
            Scalar: visitor.Value,
            Seq: visitor.Value
        }, visitor.Collection && {
            Map: visitor.Collection,
            Seq: visitor.Collection
        }, visitor);
    }
    return visitor;
}
function callVisitor(key, node, visitor, path) {
    if (typeof visitor === 'function')
        return visitor(key, node, path);
    if (identity.isMap(node))
        return visitor.Map?.(key, node, path);
    if (identity.isSeq(node))
        return visitor.Seq?.(key, node, path);
    if (identity.isPair(node))
        return visitor.Pair?.(key, node, path);
    if (identity.isScalar(node))
        return visitor.Scalar?.(key, node, path);
    if (identity.isAlias(node))
        return visitor.Alias?.(key, node, path);
    return undefined;
}
function replaceNode(key, path, node) {
    const parent = path[path.length - 1];
    if (identity.isCollection(parent)) {
        parent.items[key] = node;
    }
    else if (identity.isPair(parent)) {
        if (key === 'key')
            parent.key = node;
        else
            parent.value = node;
    }
    else if (identity.isDocument(parent)) {
        parent.contents = node;
    }
    else {
        const pt = identity.isAlias(parent) ? 'alias' : 'scalar';
        throw new Error(`Cannot replace node with ${pt} parent`);
    }
}

exports.visit = visit;
exports.visitAsync = visitAsync;


/***/ })

/******/ });
/************************************************************************/
/******/ // The module cache
/******/ var __webpack_module_cache__ = {};
/******/ 
/******/ // The require function
/******/ function __nccwpck_require__(moduleId) {
/******/ 	// Check if module is in cache
/******/ 	var cachedModule = __webpack_module_cache__[moduleId];
/******/ 	if (cachedModule !== undefined) {
/******/ 		return cachedModule.exports;
/******/ 	}
/******/ 	// Create a new module (and put it into the cache)
/******/ 	var module = __webpack_module_cache__[moduleId] = {
/******/ 		// no module.id needed
/******/ 		// no module.loaded needed
/******/ 		exports: {}
/******/ 	};
/******/ 
/******/ 	// Execute the module function
/******/ 	var threw = true;
/******/ 	try {
/******/ 		__webpack_modules__[moduleId].call(module.exports, module, module.exports, __nccwpck_require__);
/******/ 		threw = false;
/******/ 	} finally {
/******/ 		if(threw) delete __webpack_module_cache__[moduleId];
/******/ 	}
/******/ 
/******/ 	// Return the exports of the module
/******/ 	return module.exports;
/******/ }
/******/ 
/******/ // expose the modules object (__webpack_modules__)
/******/ __nccwpck_require__.m = __webpack_modules__;
/******/ 
/************************************************************************/
/******/ /* webpack/runtime/asset-relocator-loader */
/******/ if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = decodeURIComponent(new URL('.', import.meta.url).pathname).slice(import.meta.url.match(/^file:\/\/\/\w:/) ? 1 : 0, -1) + "/";
/******/ 
/******/ /* webpack/runtime/async module */
/******/ (() => {
/******/ 	var webpackQueues = typeof Symbol === "function" ? Symbol("webpack queues") : "__webpack_queues__";
/******/ 	var webpackExports = typeof Symbol === "function" ? Symbol("webpack exports") : "__webpack_exports__";
/******/ 	var webpackError = typeof Symbol === "function" ? Symbol("webpack error") : "__webpack_error__";
/******/ 	var resolveQueue = (queue) => {
/******/ 		if(queue && queue.d < 1) {
/******/ 			queue.d = 1;
/******/ 			queue.forEach((fn) => (fn.r--));
/******/ 			queue.forEach((fn) => (fn.r-- ? fn.r++ : fn()));
/******/ 		}
/******/ 	}
/******/ 	var wrapDeps = (deps) => (deps.map((dep) => {
/******/ 		if(dep !== null && typeof dep === "object") {
/******/ 			if(dep[webpackQueues]) return dep;
/******/ 			if(dep.then) {
/******/ 				var queue = [];
/******/ 				queue.d = 0;
/******/ 				dep.then((r) => {
/******/ 					obj[webpackExports] = r;
/******/ 					resolveQueue(queue);
/******/ 				}, (e) => {
/******/ 					obj[webpackError] = e;
/******/ 					resolveQueue(queue);
/******/ 				});
/******/ 				var obj = {};
/******/ 				obj[webpackQueues] = (fn) => (fn(queue));
/******/ 				return obj;
/******/ 			}
/******/ 		}
/******/ 		var ret = {};
/******/ 		ret[webpackQueues] = x => {};
/******/ 		ret[webpackExports] = dep;
/******/ 		return ret;
/******/ 	}));
/******/ 	__nccwpck_require__.a = (module, body, hasAwait) => {
/******/ 		var queue;
/******/ 		hasAwait && ((queue = []).d = -1);
/******/ 		var depQueues = new Set();
/******/ 		var exports = module.exports;
/******/ 		var currentDeps;
/******/ 		var outerResolve;
/******/ 		var reject;
/******/ 		var promise = new Promise((resolve, rej) => {
/******/ 			reject = rej;
/******/ 			outerResolve = resolve;
/******/ 		});
/******/ 		promise[webpackExports] = exports;
/******/ 		promise[webpackQueues] = (fn) => (queue && fn(queue), depQueues.forEach(fn), promise["catch"](x => {}));
/******/ 		module.exports = promise;
/******/ 		body((deps) => {
/******/ 			currentDeps = wrapDeps(deps);
/******/ 			var fn;
/******/ 			var getResult = () => (currentDeps.map((d) => {
/******/ 				if(d[webpackError]) throw d[webpackError];
/******/ 				return d[webpackExports];
/******/ 			}))
/******/ 			var promise = new Promise((resolve) => {
/******/ 				fn = () => (resolve(getResult));
/******/ 				fn.r = 0;
/******/ 				var fnQueue = (q) => (q !== queue && !depQueues.has(q) && (depQueues.add(q), q && !q.d && (fn.r++, q.push(fn))));
/******/ 				currentDeps.map((dep) => (dep[webpackQueues](fnQueue)));
/******/ 			});
/******/ 			return fn.r ? promise : getResult();
/******/ 		}, (err) => ((err ? reject(promise[webpackError] = err) : outerResolve(exports)), resolveQueue(queue)));
/******/ 		queue && queue.d < 0 && (queue.d = 0);
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/define property getters */
/******/ (() => {
/******/ 	// define getter functions for harmony exports
/******/ 	__nccwpck_require__.d = (exports, definition) => {
/******/ 		for(var key in definition) {
/******/ 			if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 				Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 			}
/******/ 		}
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/ensure chunk */
/******/ (() => {
/******/ 	__nccwpck_require__.f = {};
/******/ 	// This file contains only the entry chunk.
/******/ 	// The chunk loading function for additional chunks
/******/ 	__nccwpck_require__.e = (chunkId) => {
/******/ 		return Promise.all(Object.keys(__nccwpck_require__.f).reduce((promises, key) => {
/******/ 			__nccwpck_require__.f[key](chunkId, promises);
/******/ 			return promises;
/******/ 		}, []));
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/get javascript chunk filename */
/******/ (() => {
/******/ 	// This function allow to reference async chunks
/******/ 	__nccwpck_require__.u = (chunkId) => {
/******/ 		// return url for filenames based on template
/******/ 		return "" + chunkId + ".index.js";
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/hasOwnProperty shorthand */
/******/ (() => {
/******/ 	__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ })();
/******/ 
/******/ /* webpack/runtime/import chunk loading */
/******/ (() => {
/******/ 	// no baseURI
/******/ 	
/******/ 	// object to store loaded and loading chunks
/******/ 	// undefined = chunk not loaded, null = chunk preloaded/prefetched
/******/ 	// [resolve, Promise] = chunk loading, 0 = chunk loaded
/******/ 	var installedChunks = {
/******/ 		792: 0
/******/ 	};
/******/ 	
/******/ 	var installChunk = (data) => {
/******/ 		var {ids, modules, runtime} = data;
/******/ 		// add "modules" to the modules object,
/******/ 		// then flag all "ids" as loaded and fire callback
/******/ 		var moduleId, chunkId, i = 0;
/******/ 		for(moduleId in modules) {
/******/ 			if(__nccwpck_require__.o(modules, moduleId)) {
/******/ 				__nccwpck_require__.m[moduleId] = modules[moduleId];
/******/ 			}
/******/ 		}
/******/ 		if(runtime) runtime(__nccwpck_require__);
/******/ 		for(;i < ids.length; i++) {
/******/ 			chunkId = ids[i];
/******/ 			if(__nccwpck_require__.o(installedChunks, chunkId) && installedChunks[chunkId]) {
/******/ 				installedChunks[chunkId][0]();
/******/ 			}
/******/ 			installedChunks[ids[i]] = 0;
/******/ 		}
/******/ 	
/******/ 	}
/******/ 	
/******/ 	__nccwpck_require__.f.j = (chunkId, promises) => {
/******/ 			// import() chunk loading for javascript
/******/ 			var installedChunkData = __nccwpck_require__.o(installedChunks, chunkId) ? installedChunks[chunkId] : undefined;
/******/ 			if(installedChunkData !== 0) { // 0 means "already installed".
/******/ 	
/******/ 				// a Promise means "currently loading".
/******/ 				if(installedChunkData) {
/******/ 					promises.push(installedChunkData[1]);
/******/ 				} else {
/******/ 					if(true) { // all chunks have JS
/******/ 						// setup Promise in chunk cache
/******/ 						var promise = import("./" + __nccwpck_require__.u(chunkId)).then(installChunk, (e) => {
/******/ 							if(installedChunks[chunkId] !== 0) installedChunks[chunkId] = undefined;
/******/ 							throw e;
/******/ 						});
/******/ 						var promise = Promise.race([promise, new Promise((resolve) => (installedChunkData = installedChunks[chunkId] = [resolve]))])
/******/ 						promises.push(installedChunkData[1] = promise);
/******/ 					}
/******/ 				}
/******/ 			}
/******/ 	};
/******/ 	
/******/ 	// no prefetching
/******/ 	
/******/ 	// no preloaded
/******/ 	
/******/ 	// no external install chunk
/******/ 	
/******/ 	// no on chunks loaded
/******/ })();
/******/ 
/************************************************************************/
/******/ 
/******/ // startup
/******/ // Load entry module and return exports
/******/ // This entry module used 'module' so it can't be inlined
/******/ var __webpack_exports__ = __nccwpck_require__(486);
/******/ __webpack_exports__ = await __webpack_exports__;
/******/ 
