"""Which commands exist in which shell, as shipped by default.

The tables describe a stock machine with the developer tools the prompts promise (git,
python and pytest in an active virtualenv, node): Windows 10/11 with cmd.exe and Windows
PowerShell 5.1; macOS with its BSD userland; a Debian/Ubuntu-like Linux with GNU
coreutils. Facts encoded here that models commonly get wrong:

* cmd has no ``ls``/``rm``/``cat``/``touch``/``grep``/``pwd``; its builtins take ``/x``
  switches, so ``mkdir -p`` or ``del -f`` are Unix habits it does not understand.
* PowerShell 5.1 aliases ``ls``/``dir``/``rm``/``cat``/``cp``/``mv``/``pwd``/``ps`` to
  cmdlets, but not ``touch``/``grep``/``which``/``export``; ``where`` is Where-Object (not
  where.exe) and ``curl``/``wget`` are Invoke-WebRequest; ``&&`` is a parse error in 5.1.
* GNU coreutils ships ``dir``; macOS does not. ``where``/``whence`` are zsh builtins only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

CMD_BUILTINS = frozenset(
    """assoc break call cd chdir cls color copy date del dir echo endlocal erase exit for ftype
    goto if md mkdir mklink move path pause popd prompt pushd rd rem ren rename rmdir set
    setlocal shift start time title type ver verify vol""".split()
)
WINDOWS_EXECUTABLES = frozenset(
    """attrib certutil choice chcp clip cmd comp curl expand fc find findstr fsutil help
    hostname icacls ipconfig more netstat notepad nslookup ping powershell reg replace robocopy
    schtasks sc setx shutdown sort ssh scp subst systeminfo tar taskkill tasklist timeout tree
    where whoami wmic xcopy explorer
    git python py pip pytest node npm npx code docker""".split()
)
# cmd commands whose options are /x switches; a "-x" argument is a Unix habit there.
CMD_SLASH_SWITCH_COMMANDS = frozenset(
    """dir mkdir md rmdir rd del erase copy move ren rename type find more sort tasklist where
    xcopy attrib tree""".split()
)
# Windows resolves python3 to the Microsoft Store stub (exit 9009) even inside a venv.
WINDOWS_STORE_STUBS = frozenset({"python3"})

POSIX_COMMON = frozenset(
    """alias awk basename bash bg break cat cd chmod chown clear cmp comm command continue cp
    curl cut date dd declare df diff dirname du echo egrep env eval exec exit export expr false
    fg fgrep file find getopts git grep gunzip gzip hash head history hostname id jobs kill
    less ln local ls make man mkdir mktemp more mv nano nice nohup od paste pip pip3 popd
    printenv printf ps pushd pwd python python3 pytest read readlink realpath return rm rmdir
    scp sed seq set sh shasum shift sleep sort source split ssh stat su sudo tail tar tee test
    time times top touch tr trap true type typeset ulimit umask unalias uname uniq unlink unset
    unzip vi vim wait wc which whoami xargs yes zip zsh node npm npx code docker [ : .""".split()
)
BASH_ONLY = frozenset("shopt help compgen complete mapfile readarray enable caller".split())
ZSH_ONLY = frozenset("where whence setopt unsetopt print autoload bindkey rehash zmodload compdef".split())
LINUX_ONLY = frozenset(
    """dir vdir tac nproc free xdg-open apt apt-get wget md5sum sha1sum sha256sum ip ss lsblk
    systemctl journalctl""".split()
)
MACOS_ONLY = frozenset("open pbcopy pbpaste sw_vers defaults launchctl ditto mdfind md5 say caffeinate diskutil".split())

# Windows PowerShell 5.1 built-in aliases (Get-Alias on a fresh install).
POWERSHELL_ALIASES: dict[str, str] = {
    "%": "ForEach-Object", "?": "Where-Object", "ac": "Add-Content", "asnp": "Add-PSSnapin",
    "cat": "Get-Content", "cd": "Set-Location", "chdir": "Set-Location", "clc": "Clear-Content",
    "clear": "Clear-Host", "clhy": "Clear-History", "cli": "Clear-Item", "clp": "Clear-ItemProperty",
    "cls": "Clear-Host", "clv": "Clear-Variable", "cnsn": "Connect-PSSession", "compare": "Compare-Object",
    "copy": "Copy-Item", "cp": "Copy-Item", "cpi": "Copy-Item", "cpp": "Copy-ItemProperty",
    "curl": "Invoke-WebRequest", "cvpa": "Convert-Path", "dbp": "Disable-PSBreakpoint",
    "del": "Remove-Item", "diff": "Compare-Object", "dir": "Get-ChildItem", "dnsn": "Disconnect-PSSession",
    "ebp": "Enable-PSBreakpoint", "echo": "Write-Output", "epal": "Export-Alias", "epcsv": "Export-Csv",
    "epsn": "Export-PSSession", "erase": "Remove-Item", "etsn": "Enter-PSSession", "exsn": "Exit-PSSession",
    "fc": "Format-Custom", "fhx": "Format-Hex", "fl": "Format-List", "foreach": "ForEach-Object",
    "ft": "Format-Table", "fw": "Format-Wide", "gal": "Get-Alias", "gbp": "Get-PSBreakpoint",
    "gc": "Get-Content", "gcb": "Get-Clipboard", "gci": "Get-ChildItem", "gcm": "Get-Command",
    "gcs": "Get-PSCallStack", "gdr": "Get-PSDrive", "ghy": "Get-History", "gi": "Get-Item",
    "gjb": "Get-Job", "gl": "Get-Location", "gm": "Get-Member", "gmo": "Get-Module",
    "gp": "Get-ItemProperty", "gps": "Get-Process", "gpv": "Get-ItemPropertyValue", "group": "Group-Object",
    "gsn": "Get-PSSession", "gsnp": "Get-PSSnapin", "gsv": "Get-Service", "gu": "Get-Unique",
    "gv": "Get-Variable", "gwmi": "Get-WmiObject", "h": "Get-History", "history": "Get-History",
    "icm": "Invoke-Command", "iex": "Invoke-Expression", "ihy": "Invoke-History", "ii": "Invoke-Item",
    "ipal": "Import-Alias", "ipcsv": "Import-Csv", "ipmo": "Import-Module", "ipsn": "Import-PSSession",
    "irm": "Invoke-RestMethod", "iwmi": "Invoke-WmiMethod", "iwr": "Invoke-WebRequest",
    "kill": "Stop-Process", "lp": "Out-Printer", "ls": "Get-ChildItem", "man": "help", "md": "mkdir",
    "measure": "Measure-Object", "mi": "Move-Item", "mount": "New-PSDrive", "move": "Move-Item",
    "mp": "Move-ItemProperty", "mv": "Move-Item", "nal": "New-Alias", "ndr": "New-PSDrive",
    "ni": "New-Item", "nmo": "New-Module", "nsn": "New-PSSession", "nv": "New-Variable",
    "ogv": "Out-GridView", "oh": "Out-Host", "popd": "Pop-Location", "ps": "Get-Process",
    "pushd": "Push-Location", "pwd": "Get-Location", "r": "Invoke-History", "rbp": "Remove-PSBreakpoint",
    "rcjb": "Receive-Job", "rd": "Remove-Item", "rdr": "Remove-PSDrive", "ren": "Rename-Item",
    "ri": "Remove-Item", "rjb": "Remove-Job", "rm": "Remove-Item", "rmdir": "Remove-Item",
    "rmo": "Remove-Module", "rni": "Rename-Item", "rnp": "Rename-ItemProperty", "rp": "Remove-ItemProperty",
    "rsn": "Remove-PSSession", "rv": "Remove-Variable", "rvpa": "Resolve-Path", "sajb": "Start-Job",
    "sal": "Set-Alias", "saps": "Start-Process", "sasv": "Start-Service", "sbp": "Set-PSBreakpoint",
    "sc": "Set-Content", "select": "Select-Object", "set": "Set-Variable", "si": "Set-Item",
    "sl": "Set-Location", "sleep": "Start-Sleep", "sls": "Select-String", "sort": "Sort-Object",
    "sp": "Set-ItemProperty", "spjb": "Stop-Job", "spps": "Stop-Process", "spsv": "Stop-Service",
    "start": "Start-Process", "sv": "Set-Variable", "tee": "Tee-Object", "type": "Get-Content",
    "wget": "Invoke-WebRequest", "where": "Where-Object", "wjb": "Wait-Job", "write": "Write-Output",
}
_EXTRA_CMDLETS = """Get-Location Write-Host Write-Error Out-File Out-Null Out-String Test-Path Join-Path
    Split-Path Get-Date New-Item Get-Item Set-Item Set-Content Add-Content Get-FileHash
    Expand-Archive Compress-Archive Start-BitsTransfer ConvertTo-Json ConvertFrom-Json Get-Help
    Test-Connection Get-ComputerInfo Select-Object Measure-Object help mkdir more prompt
    Get-ChildItem Remove-Item Copy-Item Move-Item Rename-Item Get-Content Select-String
    Get-Command Get-Process Stop-Process Where-Object ForEach-Object Sort-Object
    Invoke-WebRequest Invoke-RestMethod Set-Location Push-Location Pop-Location Clear-Host""".split()
POWERSHELL_COMMANDS: dict[str, str] = {
    name.lower(): name for name in (*POWERSHELL_ALIASES.values(), *_EXTRA_CMDLETS)
}
# Automatic variables a PowerShell user may reference with $name (compared lowercased).
POWERSHELL_AUTOMATIC_VARIABLES = frozenset(
    """_ psitem args input error home pwd pid host true false null profile pshome psscriptroot
    lastexitcode psversiontable executioncontext myinvocation this matches ofs shellid
    stacktrace psculture psuiculture nestedpromptlevel psboundparameters pscmdlet
    pscommandpath foreach switch event eventargs sender""".split()
)


@dataclass(frozen=True)
class CmdletSpec:
    """Parameters of a cmdlet, enough to bind arguments like PowerShell does.

    ``positional`` lists parameters filled by position, in order; ``switches`` take no
    value; ``aliases`` maps a parameter alias (lowercase) to its parameter name; ``rest``
    is True when the last positional parameter swallows all remaining arguments.
    ``dynamic`` parameters come from the FileSystem provider and lose prefix ties to static
    ones, which is why ``gci -r`` means -Recurse and not -ReadOnly.
    """

    name: str
    params: tuple[str, ...]
    positional: tuple[str, ...] = ()
    switches: frozenset[str] = frozenset()
    aliases: dict[str, str] = field(default_factory=dict)
    rest: bool = False
    should_process: bool = False
    dynamic: frozenset[str] = frozenset()


COMMON_PARAMETERS: tuple[str, ...] = (
    "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ErrorVariable",
    "WarningVariable", "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable",
)
COMMON_SWITCHES = frozenset({"Verbose", "Debug", "WhatIf", "Confirm"})
COMMON_ALIASES = {
    "vb": "Verbose", "db": "Debug", "ea": "ErrorAction", "wa": "WarningAction", "infa": "InformationAction",
    "ev": "ErrorVariable", "wv": "WarningVariable", "iv": "InformationVariable", "ov": "OutVariable",
    "ob": "OutBuffer", "pv": "PipelineVariable", "wi": "WhatIf", "cf": "Confirm",
}
_PATH_ALIASES = {"pspath": "LiteralPath", "lp": "LiteralPath"}
_FILESYSTEM_DYNAMIC = frozenset("Attributes Directory File Hidden ReadOnly System Delimiter Wait Raw Encoding Stream".split())


def _spec(name: str, params: str, positional: str = "", switches: str = "", aliases: dict[str, str] | None = None,
          rest: bool = False, should_process: bool = False) -> CmdletSpec:
    names = tuple(params.split())
    return CmdletSpec(
        name=name,
        params=names,
        positional=tuple(positional.split()),
        switches=frozenset(switches.split()),
        aliases={**_PATH_ALIASES, **(aliases or {})},
        rest=rest,
        should_process=should_process,
        dynamic=frozenset(names) & _FILESYSTEM_DYNAMIC if name in {"Get-ChildItem", "Get-Content", "Remove-Item"} else frozenset(),
    )


CMDLET_SPECS: dict[str, CmdletSpec] = {spec.name.lower(): spec for spec in (
    _spec("Get-ChildItem", "Path LiteralPath Filter Include Exclude Recurse Depth Force Name Attributes "
          "Directory File Hidden ReadOnly System", "Path Filter",
          "Recurse Force Name Directory File Hidden ReadOnly System",
          {"s": "Recurse", "ad": "Directory", "d": "Directory", "af": "File", "ah": "Hidden", "h": "Hidden",
           "ar": "ReadOnly", "as": "System"}),
    _spec("New-Item", "Path ItemType Name Value Force Credential", "Path", "Force",
          {"type": "ItemType"}, should_process=True),
    _spec("mkdir", "Path Name Value Force Credential", "Path", "Force", should_process=True),
    _spec("Remove-Item", "Path LiteralPath Filter Include Exclude Recurse Force Credential Stream",
          "Path", "Recurse Force", should_process=True),
    _spec("Copy-Item", "Path LiteralPath Destination Container Force Filter Include Exclude Recurse "
          "PassThru Credential FromSession ToSession", "Path Destination", "Container Force Recurse PassThru",
          should_process=True),
    _spec("Move-Item", "Path LiteralPath Destination Force Filter Include Exclude PassThru Credential",
          "Path Destination", "Force PassThru", should_process=True),
    _spec("Rename-Item", "Path LiteralPath NewName Force PassThru Credential", "Path NewName",
          "Force PassThru", should_process=True),
    _spec("Get-Content", "Path LiteralPath ReadCount TotalCount Tail Filter Include Exclude Force "
          "Credential Delimiter Wait Raw Encoding Stream", "Path", "Force Wait Raw",
          {"first": "TotalCount", "head": "TotalCount", "last": "Tail"}),
    _spec("Select-String", "Pattern Path LiteralPath InputObject SimpleMatch CaseSensitive Quiet List "
          "Include Exclude NotMatch AllMatches Encoding Context", "Pattern Path",
          "SimpleMatch CaseSensitive Quiet List NotMatch AllMatches"),
    _spec("Get-Location", "PSProvider PSDrive Stack StackName", "", "Stack"),
    _spec("Get-Command", "Name Verb Noun Module CommandType TotalCount Syntax All ListImported "
          "ParameterName ParameterType ShowCommandInfo ArgumentList", "Name ArgumentList",
          "Syntax All ListImported ShowCommandInfo", rest=True),
    _spec("Get-Process", "Name Id InputObject ComputerName Module FileVersionInfo IncludeUserName",
          "Name", "Module FileVersionInfo IncludeUserName"),
    _spec("Measure-Object", "Property InputObject Sum Average Maximum Minimum Line Word Character "
          "IgnoreWhiteSpace", "Property", "Sum Average Maximum Minimum Line Word Character IgnoreWhiteSpace"),
    _spec("Write-Output", "InputObject NoEnumerate", "InputObject", "NoEnumerate", rest=True),
    _spec("Write-Host", "Object NoNewline Separator ForegroundColor BackgroundColor", "Object", "NoNewline",
          rest=True),
    _spec("Set-Item", "Path LiteralPath Value Force PassThru Filter Include Exclude Credential",
          "Path Value", "Force PassThru", should_process=True),
    _spec("Get-Item", "Path LiteralPath Filter Include Exclude Force Credential Stream", "Path", "Force"),
    _spec("Set-Location", "Path LiteralPath PassThru StackName", "Path", "PassThru"),
    _spec("Where-Object", "Property Value FilterScript EQ NE GT LT Like Match CEQ Contains In Not",
          "Property Value", "EQ NE GT LT Like Match CEQ Contains In Not"),
    _spec("Set-Content", "Path LiteralPath Value PassThru Filter Include Exclude Force Credential "
          "NoNewline Encoding Stream", "Path Value", "PassThru Force NoNewline", should_process=True),
    _spec("Out-File", "FilePath LiteralPath Encoding Append Force NoClobber Width NoNewline InputObject",
          "FilePath Encoding", "Append Force NoClobber NoNewline", should_process=True),
    _spec("Invoke-WebRequest", "Uri UseBasicParsing WebSession SessionVariable Credential "
          "UseDefaultCredentials Method Headers Body OutFile PassThru TimeoutSec UserAgent",
          "Uri", "UseBasicParsing UseDefaultCredentials PassThru"),
)}
