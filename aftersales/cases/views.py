"""Customer portal: my cases, a case's timeline, photos, rating, notifications."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponseGone
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from aftersales.common.errors import DomainError

from . import attachments, notifications, selectors, services
from .forms import AttachmentForm, FeedbackForm, NoteForm
from .models import Attachment, Feedback


def add_service_errors(form, error: DomainError) -> None:
    """A service's field errors next to the form's fields; its message on top when it has none."""
    if not error.fields:
        form.add_error(None, str(error.message))
    for field, field_messages in error.fields.items():
        form.add_error(field if field in form.fields else None, [str(m) for m in field_messages])


def _case(request, number):
    return get_object_or_404(selectors.case_detail_queryset(request.user, refunds=True), number=number)


@login_required
@require_GET
def case_list(request):
    page = Paginator(selectors.cases_visible_to(request.user).order_by("-opened_at", "-id"), 20).get_page(
        request.GET.get("page")
    )
    return render(request, "cases/case_list.html", {"page": page})


@login_required
@require_GET
def timeline(request):
    """Everything that happened on the customer's cases, of every kind, on one page."""
    page = Paginator(selectors.customer_timeline(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "cases/timeline.html", {"page": page})


@login_required
def case_detail(request, number):
    case = _case(request, number)
    note_form = NoteForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "note":
                note_form = NoteForm(request.POST)
                if note_form.is_valid():
                    services.add_note(
                        case=case, actor=request.user, note=note_form.cleaned_data["note"], public=True, generic=True
                    )
                    messages.success(request, _("Your message was added."))
                    return redirect("portal:case-detail", number=case.number)
            elif action == "transition":
                # The version the page showed: if the case moved since, the service's
                # compare-and-set refuses rather than act on a state the customer never saw.
                version = request.POST.get("version", "")
                case.version = int(version) if version.isdigit() else 0
                services.transition(case=case, name=request.POST.get("name", ""), actor=request.user, generic=True)
                messages.success(request, _("Done."))
                return redirect("portal:case-detail", number=case.number)
        except DomainError as error:
            messages.error(request, str(error.message))
            return redirect("portal:case-detail", number=case.number)
    return _render_detail(request, case, note_form=note_form)


def _render_detail(request, case, **forms):
    has_feedback = Feedback.objects.filter(case=case).exists()
    context = {
        "case": case,
        "events": selectors.case_timeline(request.user, case),
        "transitions": selectors.available_transitions(request.user, case),
        "feedback": case.feedback if has_feedback else None,
        "feedback_form": forms.get("feedback_form") or FeedbackForm(),
        "attachment_form": forms.get("attachment_form") or AttachmentForm(),
        "note_form": forms.get("note_form") or NoteForm(),
        "can_rate": case.closed_at is not None and not has_feedback and request.user.pk == case.customer_id,
    }
    return render(
        request, "cases/case_detail.html", context, status=400 if any(f.errors for f in forms.values()) else 200
    )


@login_required
@require_POST
def case_feedback(request, number):
    case = _case(request, number)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            services.leave_feedback(case=case, customer=request.user, **form.cleaned_data)
        except DomainError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Thank you for your rating."))
            return redirect("portal:case-detail", number=case.number)
    return _render_detail(request, case, feedback_form=form)


@login_required
@require_POST
def case_attachment_upload(request, number):
    case = _case(request, number)
    if not attachments.may_attach(request.user, case):  # before the form, so its errors tell nothing
        raise PermissionDenied
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachments.add_attachment(case=case, uploaded_by=request.user, upload=form.cleaned_data["file"])
        except DomainError as error:
            form.add_error("file", str(error.message))
        else:
            messages.success(request, _("The photo was added."))
            return redirect("portal:case-detail", number=case.number)
    return _render_detail(request, case, attachment_form=form)


@login_required
@require_GET
def attachment_download(request, pk):
    """Private files: only the case's customer and case staff; anyone else gets a 404."""
    attachment = get_object_or_404(
        Attachment.objects.select_related("case"), pk=pk, case__in=selectors.cases_visible_to(request.user)
    )
    if attachment.purged_at:
        return HttpResponseGone(_("This file was removed after the retention period."), content_type="text/plain")
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Content-Disposition"] = f'inline; filename="attachment-{attachment.pk}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=0"
    return response


@login_required
def notification_list(request):
    if request.method == "POST":
        notifications.mark_read(user=request.user)
        return redirect("portal:notification-list")
    page = Paginator(request.user.notifications.select_related("case").order_by("-created_at"), 30).get_page(
        request.GET.get("page")
    )
    return render(request, "cases/notification_list.html", {"page": page})
