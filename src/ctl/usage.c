/*
 * usage.c - the help texts of smsctl, kept apart from option parsing so that src/smsctl.c
 * stays a table of commands and options.
 *
 * Design: one static text per command, looked up by name; the general usage lists every
 * command and the global options. docs/smsctl.md is the long form of the same texts: a change
 * here belongs there too.
 */
#include "ctl/usage.h"

#include <string.h>

#include "util/util.h"

static const char usage_general[] =
    "usage: smsctl [GLOBAL OPTIONS] COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "Operator commands (admin API, authenticated with the admin token):\n"
    "  account create NAME [--credits N]      create an account, print its service and keys\n"
    "  account list                           list accounts and their credits\n"
    "  sender approve|refuse|disable SERVICE SENDER [--comment TEXT]\n"
    "                                         moderate a sender name\n"
    "  credential validate|refuse CONSUMER_KEY\n"
    "                                         validate or refuse a consumer key\n"
    "  service credit SERVICE AMOUNT [--reason TEXT]\n"
    "                                         add (or, negative, remove) credits\n"
    "  ledger SERVICE                         show a service's credit ledger\n"
    "  health                                 check that the server answers\n"
    "\n"
    "Customer commands (OVH API, signed with OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and\n"
    "OVH_CONSUMER_KEY):\n"
    "  send --service S --to NUMBER [--to NUMBER ...] [SEND OPTIONS] MESSAGE\n"
    "                                         send an SMS (MESSAGE '-' reads standard input)\n"
    "  status --service S ID                  show the delivery status of one SMS\n"
    "\n"
    "Global options (before or after the command):\n"
    "  --data DIR         smsgated's data directory (default: $SMSGATE_DATA, else ./data)\n"
    "  --url URL          server base URL (default: $SMSGATE_URL, else DIR/smsgated.url)\n"
    "  --json             print the server's JSON answer as is\n"
    "  --insecure         do not verify the server's TLS certificate\n"
    "  --cacert FILE      trust this CA file for https (default: $SMSGATE_CA_FILE)\n"
    "  --timeout SECONDS  limit for each request (default: 30)\n"
    "  -h, --help         show help (for COMMAND when one is given)\n"
    "\n"
    "Environment: SMSGATE_DATA, SMSGATE_URL, SMSGATE_ADMIN_TOKEN (else DIR/admin.token),\n"
    "SMSGATE_CA_FILE, OVH_ENDPOINT (an http(s) URL such as http://127.0.0.1:8080/1.0; default:\n"
    "server URL + /1.0), OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET, OVH_CONSUMER_KEY.\n"
    "\n"
    "Exit status: 0 success, 1 API or network error, 2 usage error.\n"
    "Run 'smsctl help COMMAND' for a command's details; see docs/smsctl.md.\n";

static const char usage_account[] =
    "usage: smsctl account create NAME [--credits N]\n"
    "       smsctl account list\n"
    "\n"
    "create  POST /admin/accounts. NAME: 1-32 characters of a-z 0-9 '-'. --credits N sets the\n"
    "        starting balance (N >= 0). Prints serviceName, applicationKey, applicationSecret\n"
    "        and consumerKey, one 'key: value' line each (--json: the whole answer). The\n"
    "        consumer key is already validated for /sms/*.\n"
    "list    GET /admin/accounts. Prints ACCOUNT, SERVICE and CREDITS columns.\n";

static const char usage_sender[] =
    "usage: smsctl sender approve|refuse|disable SERVICE SENDER [--comment TEXT]\n"
    "\n"
    "PUT /admin/services/SERVICE/senders/SENDER with status enable (approve), refused (refuse)\n"
    "or disable (disable). --comment TEXT is stored as the sender's comment (the reason of a\n"
    "refusal, shown to the customer). Quote a SENDER that contains spaces.\n";

static const char usage_credential[] =
    "usage: smsctl credential validate|refuse CONSUMER_KEY\n"
    "\n"
    "POST /admin/credentials/CONSUMER_KEY/validate (state becomes validated) or .../refuse\n"
    "(state becomes refused): answers a customer's POST /auth/credential request.\n";

static const char usage_service[] =
    "usage: smsctl service credit SERVICE AMOUNT [--reason TEXT]\n"
    "\n"
    "POST /admin/services/SERVICE/credits. AMOUNT is a non-zero number, negative to remove\n"
    "credits (e.g. -5.5). The adjustment is written to the ledger with the reason. Prints\n"
    "'creditsLeft: N'.\n";

static const char usage_ledger[] =
    "usage: smsctl ledger SERVICE\n"
    "\n"
    "GET /admin/services/SERVICE/ledger. Prints ID, DATETIME, AMOUNT, KIND, BALANCE and REF\n"
    "columns, in the order the server returns them.\n";

static const char usage_health[] =
    "usage: smsctl health\n"
    "\n"
    "GET /admin/health. Prints 'ok (version V)'; exits 1 when the server cannot be reached or\n"
    "refuses the admin token.\n";

static const char usage_send[] =
    "usage: smsctl send --service S --to NUMBER [--to NUMBER ...] [OPTIONS] MESSAGE\n"
    "\n"
    "POST {endpoint}/sms/S/jobs, signed like the OVH SDKs sign it. MESSAGE '-' reads the\n"
    "message from standard input (one trailing line break removed). Quote a MESSAGE made of\n"
    "several words; put '--' before a MESSAGE that starts with '-'.\n"
    "\n"
    "  --service S          the service name (sms-...), required\n"
    "  --to NUMBER          a receiver, +33612345678 or 0033612345678; repeat for several\n"
    "  --sender NAME        an enabled sender of the service\n"
    "  --sender-for-response  send from a number that accepts replies\n"
    "  --no-stop            non-commercial message: no STOP clause appended\n"
    "  --tag T              free label stored on every SMS of the job\n"
    "  --differed MINUTES   wait this many minutes before sending\n"
    "  --priority P         high, medium, low or veryLow\n"
    "\n"
    "Prints 'ids: ID ...', the invalid receivers if any, and the credits removed\n"
    "(--json: the whole sending report).\n"
    "Keys: OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET, OVH_CONSUMER_KEY. Endpoint:\n"
    "OVH_ENDPOINT when it is an http(s) URL, else the server URL + /1.0.\n";

static const char usage_status[] =
    "usage: smsctl status --service S ID\n"
    "\n"
    "GET {endpoint}/sms/S/outgoing/ID, or /sms/S/jobs/ID while the SMS is still pending,\n"
    "signed like 'send'. Prints\n"
    "  id ID: deliveryReceipt D (meaning), ptt P, sentAt T, deliveredAt T\n"
    "('-' for a time not reached yet; --json: the whole object).\n";

static const char usage_help[] =
    "usage: smsctl help [COMMAND]\n"
    "\n"
    "Prints the general usage, or the help of COMMAND.\n";

static const struct {
    const char *name;
    const char *text;
} texts[] = {
    {"account", usage_account}, {"sender", usage_sender}, {"credential", usage_credential},
    {"service", usage_service}, {"ledger", usage_ledger}, {"health", usage_health},
    {"send", usage_send},       {"status", usage_status}, {"help", usage_help},
};

int ctl_usage_print(FILE *f, const char *cmd) {
    if (!cmd) {
        fputs(usage_general, f);
        return 0;
    }
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (strcmp(texts[i].name, cmd) == 0) {
            fputs(texts[i].text, f);
            return 0;
        }
    }
    return SG_ENOTFOUND;
}
