"""Account pages: sign up, log in and out, password reset by email, settings, API tokens,
export of all one's data, deleting one's account.

In single-user mode there is nobody to log in: /login and /signup lead to the feed, and
/account shows the local user's settings.
"""

from __future__ import annotations

import json
import logging
import os
from email.message import EmailMessage

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from paperscope.errors import InputError
from paperscope.serve.web.api import PERSONAL_ERRORS
from paperscope.serve.web.auth import (
    CurrentUser,
    check_csrf,
    client_address,
    log_in,
    log_out,
    safe_next,
)
from paperscope.serve.web.modes import mail_ready
from paperscope.serve.web.site import site_of
from paperscope.store.accounts import LOCAL_EMAIL, Accounts, User, check_password
from paperscope.store.library import Library

log = logging.getLogger("paperscope.web.account")
router = APIRouter()

#: Environment switch for open sign-up in multi-user mode (default on); off = only
#: `paperscope users add` creates accounts.
SIGNUP_ENV = "PAPERSCOPE_SIGNUP"
HEAD = '<link rel="stylesheet" href="/static/personal.css">'


def signup_open() -> bool:
    return os.environ.get(SIGNUP_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def _accounts(request: Request) -> Accounts:
    return Accounts(site_of(request).store)


def _single_user(request: Request) -> bool:
    return site_of(request).settings.single_user


def _page(request: Request, template: str, status_code: int = 200, **context) -> Response:
    return site_of(request).render(request, f"account/{template}", context, status_code)


def send_mail(to: str, subject: str, text: str) -> None:
    """One plain-text email through the SMTP server of PAPERSCOPE_SMTP_URL."""
    from paperscope.serve.email.smtp import send_message  # only needed when mail goes out

    msg = EmailMessage()
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(text)
    send_message(msg)


def base_url(request: Request) -> str:
    configured = site_of(request).settings.base_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


# ---------------------------------------------------------------------- log in / out


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    if _single_user(request):
        return RedirectResponse(safe_next(next), status_code=303)
    return _page(request, "login.html", next=safe_next(next), signup=signup_open())


@router.post("/login", dependencies=[Depends(check_csrf)])
async def login(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    if _single_user(request):
        return RedirectResponse(safe_next(next), status_code=303)
    accounts = _accounts(request)
    keys = ["email:" + email.strip().lower(), "ip:" + client_address(request)]
    wait = accounts.login_wait(keys)
    if wait:
        raise HTTPException(
            429,
            f"too many failed logins; try again in {wait // 60 + 1} minutes",
            headers={"Retry-After": str(wait)},
        )
    user = accounts.verify(email, password)
    if user is None:
        accounts.record_failure(keys)
        return _page(
            request,
            "login.html",
            status_code=401,
            next=safe_next(next),
            signup=signup_open(),
            email=email,
            error="wrong email or password (or the account is disabled)",
        )
    accounts.clear_failures(keys[:1])
    log_in(request, user)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
async def logout(request: Request) -> Response:
    if not _single_user(request):
        log_out(request)
    return RedirectResponse("/", status_code=303)


# ---------------------------------------------------------------------- sign up


@router.get("/signup")
async def signup_page(request: Request, next: str = "/") -> Response:
    if _single_user(request):
        return RedirectResponse("/", status_code=303)
    if not signup_open():
        raise HTTPException(403, "sign-up is closed on this server; ask its administrator")
    return _page(request, "signup.html", next=safe_next(next))


@router.post("/signup", dependencies=[Depends(check_csrf)])
async def signup(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    display_name: str = Form(""),
    next: str = Form("/"),
) -> Response:
    if _single_user(request):
        return RedirectResponse("/", status_code=303)
    if not signup_open():
        raise HTTPException(403, "sign-up is closed on this server; ask its administrator")
    try:
        user = _accounts(request).add(email, password, display_name=display_name.strip()[:100])
    except InputError as exc:
        return _page(
            request,
            "signup.html",
            status_code=400,
            next=safe_next(next),
            email=email,
            display_name=display_name,
            error=str(exc),
        )
    log_in(request, user)
    return RedirectResponse(safe_next(next), status_code=303)


# ---------------------------------------------------------------------- password reset


@router.get("/reset")
async def reset_request_page(request: Request) -> Response:
    return _page(request, "reset_request.html")


@router.post("/reset", dependencies=[Depends(check_csrf)])
async def reset_request(request: Request, email: str = Form("")) -> Response:
    accounts = _accounts(request)
    keys = ["reset:" + client_address(request)]
    wait = accounts.login_wait(keys)
    if wait:
        raise HTTPException(
            429, "too many reset requests; try again later", headers={"Retry-After": str(wait)}
        )
    if not mail_ready():  # the page says resets need the server's administrator
        return _page(request, "reset_request.html")
    accounts.record_failure(keys)  # counts requests, so nobody can mail-bomb an address
    found = accounts.create_reset(email)
    if found is not None:
        from paperscope.serve.email.smtp import MailError

        user, token = found
        link = f"{base_url(request)}/reset/{token}"
        try:
            send_mail(
                user.email,
                "paperscope: reset your password",
                f"Someone (probably you) asked to reset the password of {user.email}.\n\n"
                f"Choose a new password here (valid for one hour, once):\n{link}\n\n"
                "If it was not you, ignore this email; your password stays as it is.\n",
            )
        except MailError as exc:
            # for the administrator's log only: an error page would tell the visitor that the
            # address has an account (and where the mail server is)
            log.warning("password-reset mail to user %s not sent: %s", user.id, exc)
    # the same answer either way: the page does not tell who has an account
    return _page(request, "reset_request.html", sent=True, email=email)


@router.get("/reset/{token}")
async def reset_page(request: Request, token: str) -> Response:
    valid = _accounts(request).reset_valid(token)
    return _page(request, "reset.html", token=token, valid=valid, status_code=200 if valid else 400)


@router.post("/reset/{token}", dependencies=[Depends(check_csrf)])
async def reset(request: Request, token: str, password: str = Form("")) -> Response:
    accounts = _accounts(request)
    try:
        user = accounts.use_reset(token, password)
    except InputError as exc:
        valid = accounts.reset_valid(token)
        return _page(
            request, "reset.html", status_code=400, token=token, valid=valid, error=str(exc)
        )
    if not _single_user(request):
        log_in(request, user)
    return RedirectResponse("/account?done=password", status_code=303)


# ---------------------------------------------------------------------- settings


@router.get("/account")
async def account_page(request: Request, user: CurrentUser, done: str = "") -> Response:
    accounts = _accounts(request)
    return _page(
        request,
        "settings.html",
        tokens=accounts.tokens(user.id),
        done=done,
        local=user.email == LOCAL_EMAIL,
    )


@router.post("/account/profile", dependencies=[Depends(check_csrf)])
async def account_profile(
    request: Request,
    user: CurrentUser,
    display_name: str = Form(""),
    digest: str = Form("daily"),
) -> Response:
    accounts = _accounts(request)
    accounts.set_display_name(user.id, display_name)
    accounts.set_digest(user.id, digest)
    return RedirectResponse("/account?done=profile", status_code=303)


@router.post("/account/password", dependencies=[Depends(check_csrf)])
async def account_password(
    request: Request,
    user: CurrentUser,
    current: str = Form(""),
    password: str = Form(""),
) -> Response:
    accounts = _accounts(request)
    has_password = user.email != LOCAL_EMAIL
    problem = None
    if has_password and accounts.verify(user.email, current) is None:
        problem = ("current", "The current password is wrong; nothing was changed.")
    else:
        try:
            check_password(password)
        except InputError as exc:
            problem = ("password", f"The new password was not accepted: {exc}")
    if problem:  # the settings page again, the message beside the password form
        return _page(
            request,
            "settings.html",
            400,
            tokens=accounts.tokens(user.id),
            local=not has_password,
            password_error_field=problem[0],
            password_error=problem[1],
        )
    accounts.set_password(user.id, password)
    if not _single_user(request):
        accounts.end_sessions(user.id)  # log out everywhere else; this browser logs in again
        log_in(request, user)
    return RedirectResponse("/account?done=password", status_code=303)


@router.post("/account/tokens", dependencies=[Depends(check_csrf)])
async def token_create(request: Request, user: CurrentUser, name: str = Form("")) -> Response:
    accounts = _accounts(request)
    token = accounts.create_token(user.id, name)
    # shown once, on this page only; the store keeps its hash
    response = _page(
        request,
        "settings.html",
        tokens=accounts.tokens(user.id),
        new_token=token,
        local=user.email == LOCAL_EMAIL,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/tokens/{token_id}/revoke", dependencies=[Depends(check_csrf)])
async def token_revoke(request: Request, user: CurrentUser, token_id: int) -> Response:
    _accounts(request).revoke_token(user.id, token_id)
    return RedirectResponse("/account?done=token", status_code=303)


# ---------------------------------------------------------------------- privacy


def _export(request: Request, user: User) -> Response:
    data = Library(site_of(request).store).export_user(user.id)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="paperscope-my-data.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/account/export.json")
async def account_export(request: Request, user: CurrentUser) -> Response:
    return _export(request, user)


@router.get("/api/v1/me/export", responses=PERSONAL_ERRORS)
async def api_account_export(request: Request, user: CurrentUser) -> Response:
    return _export(request, user)


@router.post("/account/delete", dependencies=[Depends(check_csrf)])
async def account_delete(
    request: Request,
    user: CurrentUser,
    confirm: str = Form(""),
) -> Response:
    if confirm.strip().lower() != user.email.lower():
        raise InputError(
            "type your email address to confirm deleting the account",
            hint="nothing was deleted",
        )
    if not _single_user(request):
        log_out(request)
    _accounts(request).delete(user.id)
    log.info("account %s deleted by its owner", user.id)
    return RedirectResponse("/?deleted=1", status_code=303)
